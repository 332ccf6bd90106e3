# Shared by the install_*.sh scripts (sourced, not run): apt-get as root, or through sudo without a prompt.
# apt_setup WHAT: sets SUDO ("" as root, else "sudo -n"), or exits 1 saying WHAT needs root or sudo;
# apt-get runs noninteractive.
apt_setup() {
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "need root or sudo to apt-get install $1" >&2; exit 1; }
    SUDO="sudo -n"
  fi
  export DEBIAN_FRONTEND=noninteractive
}
