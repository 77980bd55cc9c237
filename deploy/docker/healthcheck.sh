#!/usr/bin/env bash
# Container health check for the chat image, with nothing but bash and
# coreutils (the runtime image has no curl and no grpc_health_probe).
#
#   chat-healthcheck http [PATH]      GET PATH (default /health) on HTTP_ADDR's port; healthy on 200
#   chat-healthcheck grpc [SERVICE]   grpc.health.v1.Health/Check over gRPC-Web (HTTP/1.0) on
#                                     GRPC_ADDR's port; healthy on SERVING. SERVICE defaults to ""
#                                     (the whole server), e.g. chat.auth.v1.AuthService
#
# Kubernetes does not need this: it uses native gRPC and HTTP probes.
set -euo pipefail

port_of() { local addr=$1; echo "${addr##*:}"; }

case "${1:-}" in
http)
  port=$(port_of "${HTTP_ADDR:-0.0.0.0:8080}")
  path=${2:-/health}
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3
  status=$(timeout 5 head -n1 <&3 || true)
  [[ $status == *" 200 "* ]] || { echo "unhealthy: ${status:-no answer}" >&2; exit 1; }
  ;;
grpc)
  port=$(port_of "${GRPC_ADDR:-0.0.0.0:50051}")
  service=${2:-}
  n=${#service}
  ((n < 128)) || { echo "service name too long" >&2; exit 2; }
  # HealthCheckRequest{service}: field 1, length-delimited; in a gRPC-Web frame.
  if ((n > 0)); then len=$((n + 2)); else len=0; fi
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  {
    printf 'POST /grpc.health.v1.Health/Check HTTP/1.0\r\nHost: localhost\r\n'
    printf 'Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: %d\r\n\r\n' $((len + 5))
    printf '\000\000\000\000'"\\$(printf %03o "$len")"
    if ((n > 0)); then
      printf '\012'"\\$(printf %03o "$n")"
      printf '%s' "$service"
    fi
  } >&3
  # The answer's data frame is 00 00000002 08 01: HealthCheckResponse{status: SERVING}.
  answer=$(timeout 5 od -An -v -tx1 <&3 | tr -d ' \n' || true)
  [[ $answer == *00000000020801* ]] ||
    { echo "unhealthy: ${service:-server} is not SERVING" >&2; exit 1; }
  ;;
*)
  echo "usage: chat-healthcheck http [PATH] | grpc [SERVICE]" >&2
  exit 2
  ;;
esac
