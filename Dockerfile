# One image for every clawsched role: beat, workers, the API, Flower, migrations (docker-compose.yml).
# Installed from this checkout (clawsched is not on PyPI).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --create-home --home-dir /var/lib/clawsched --shell /usr/sbin/nologin clawsched
WORKDIR /opt/clawsched
COPY pyproject.toml README.md ./
COPY sched ./sched
COPY workers ./workers
COPY beat ./beat
COPY cli ./cli
COPY api ./api
RUN pip install --no-cache-dir .
USER clawsched
ENV CLAWSCHED_HOME=/var/lib/clawsched
CMD ["clawsched", "--help"]
