# syntax=docker/dockerfile:1
# Tunnelkeeper's headless agent: `tunnelkeeper run --all` as a non-root user, without Qt.
#
#   docker build -t tunnelkeeper .
#
# Made for a read-only root file system: the settings (profiles.toml, known_hosts) are
# mounted read-only at /etc/tunnelkeeper, the key from a secret at the path the profile
# names, passphrases (if any) as files in $CREDENTIALS_DIRECTORY, and only
# /var/lib/tunnelkeeper (history, logs, run state, the control socket) is written.
# docs/deploy/README.md: how to make the settings, compose and Kubernetes examples.
# tests/deploy checks this file and runs its command as the image would.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# The dependencies first (a layer that changes rarely), then the wheel without its own:
# pyproject.toml's list also names PySide6 and qasync, which only the desktop app needs.
RUN python -m venv --without-pip /opt/tunnelkeeper
COPY build/docker/requirements-headless.txt /tmp/requirements-headless.txt
RUN pip --python /opt/tunnelkeeper/bin/python install -r /tmp/requirements-headless.txt
COPY pyproject.toml setup.py README.md /usr/src/tunnelkeeper/
COPY app /usr/src/tunnelkeeper/app
COPY resources /usr/src/tunnelkeeper/resources
RUN pip wheel --no-deps --wheel-dir /tmp/wheels /usr/src/tunnelkeeper \
    && pip --python /opt/tunnelkeeper/bin/python install --no-deps /tmp/wheels/tunnelkeeper-*.whl

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="Tunnelkeeper agent" \
      org.opencontainers.image.description="Keeps reverse SSH tunnels to a vendor's jumphost open (headless)" \
      org.opencontainers.image.licenses="MIT"
# A numeric user, so that Kubernetes' runAsNonRoot can check it; its home does not exist.
RUN groupadd --system --gid 10001 tunnelkeeper \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin tunnelkeeper \
    && install -d -m 0755 /etc/tunnelkeeper \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/tunnelkeeper
COPY --from=build /opt/tunnelkeeper /opt/tunnelkeeper
# TUNNELKEEPER_SERVICE: run as a service does (no desktop keychain is asked; a key's
# passphrase or a proxy password is the file named for it in $CREDENTIALS_DIRECTORY).
ENV PATH=/opt/tunnelkeeper/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/nonexistent \
    TUNNELKEEPER_HOME=/var/lib/tunnelkeeper \
    TUNNELKEEPER_CONFIG_DIR=/etc/tunnelkeeper \
    TUNNELKEEPER_SERVICE=user \
    CREDENTIALS_DIRECTORY=/run/credentials/tunnelkeeper
USER 10001:10001
# Without a volume of its own, `docker run --read-only` still gets a writable state folder.
VOLUME ["/var/lib/tunnelkeeper"]
# Alive: the agent answers on its control socket. Not --ready: a vendor's outage is no
# reason to restart the container (`tunnelkeeper health --ready` says whether it carries).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["tunnelkeeper", "health"]
ENTRYPOINT ["tunnelkeeper"]
CMD ["run", "--all"]
