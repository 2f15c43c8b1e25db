# A minimal image: the static musl binary dist/bin/sqlite-graphrag
# (scripts/build-release.sh) on an empty base, run as an unprivileged user.
# Building it needs no registry and no network. scripts/build-image.sh
# builds it with the build arguments below and the last commit's time.
#
# Volumes:
#   /data                   the database (SQLITE_GRAPHRAG_DB=/data/graphrag.sqlite)
#   /run/sqlite-graphrag    the slot pools; mount the host's runtime dir here so
#                           that host and containers share one cap
FROM scratch
# Cargo.toml's version, the full commit id, and the commit time in RFC 3339
# (empty unless given, as scripts/build-image.sh does).
ARG VERSION=""
ARG REVISION=""
ARG CREATED=""
LABEL org.opencontainers.image.title="sqlite-graphrag" \
      org.opencontainers.image.description="Persistent GraphRAG memory for AI coding agents in one SQLite file" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
COPY --chmod=0755 dist/bin/sqlite-graphrag /usr/local/bin/sqlite-graphrag
ENV SQLITE_GRAPHRAG_DB=/data/graphrag.sqlite \
    SQLITE_GRAPHRAG_RUNTIME_DIR=/run/sqlite-graphrag \
    HOME=/data
VOLUME ["/data", "/run/sqlite-graphrag"]
WORKDIR /data
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/sqlite-graphrag"]
CMD ["--help"]
