# syntax=docker/dockerfile:1
# The cabinet's container image: built in one stage, run from a slim one as an unprivileged user.
#
#   docker build -t cabinet .
#   docker run --rm -e DATABASE_URL=postgres://cabinet_app:…@db/cabinet -p 8080:8080 cabinet
#
# The image never starts a private PostgreSQL of its own (it would live and die with the container):
# `serve` refuses to start without DATABASE_URL (or DATABASE_URL_FILE). Run `cabinet migrate` once per release
# with the schema owner's URL (deploy/compose/compose.yaml shows the order), then `serve --no-migrate`.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p api --bin cabinet \
    && install -D -m 0755 target/release/cabinet /out/cabinet

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 cabinet \
    && useradd --system --uid 10001 --gid cabinet --home-dir /var/lib/cabinet --shell /usr/sbin/nologin cabinet \
    && install -d -o cabinet -g cabinet -m 0750 /var/lib/cabinet
COPY --from=build /out/cabinet /usr/local/bin/cabinet
COPY LICENSE /usr/share/doc/cabinet/LICENSE
ENV CABINET_REQUIRE_DATABASE_URL=true \
    CABINET_DATA_DIR=/var/lib/cabinet \
    CABINET_LISTEN=0.0.0.0:8080 \
    CABINET_LOG_FORMAT=json \
    CABINET_CLOCK=auto
USER 10001:10001
WORKDIR /var/lib/cabinet
VOLUME ["/var/lib/cabinet"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/cabinet"]
CMD ["serve", "--no-migrate"]
