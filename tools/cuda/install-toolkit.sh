#!/usr/bin/env bash
# Installs Debian 12's nvcc (package nvidia-cuda-toolkit, CUDA 11.8, in the non-free component) once.
# The stock sources list only `main`; this adds one sources file naming non-free and contrib for bookworm.
set -euo pipefail
if command -v nvcc >/dev/null 2>&1; then exit 0; fi
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
list=/etc/apt/sources.list.d/edgeavsr-non-free.sources
if ! grep -rqs 'non-free' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm bookworm-updates' \
    'Components: contrib non-free' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' | $sudo tee "$list" >/dev/null
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nvidia-cuda-toolkit >/dev/null
nvcc --version | tail -2
