# One image for every clawsched role: beat, worker, flower, migrations.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --home-dir /var/lib/clawsched clawsched
WORKDIR /opt/clawsched
COPY pyproject.toml README.md ./
COPY sched ./sched
COPY workers ./workers
COPY beat ./beat
COPY cli ./cli
RUN pip install --no-cache-dir .
USER clawsched
ENV CLAWSCHED_HOME=/var/lib/clawsched
CMD ["clawsched", "--help"]
