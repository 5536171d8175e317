"""The OpenClaw gateway edge: ``client`` speaks HTTP to it; ``sessions``, ``replies``, ``errors`` and
``chunking`` hold the key rules, answer shapes, error mapping and message limits the client applies."""
