#!/bin/sh
# lookout's installer (docs/install.md). One command that installs the agent on this host from
# a local package file or a configured repository, stores the license key in the agent's
# encrypted secret store, writes the delivery configuration, starts the service and prints
# `lookout status`. Running it again with the same inputs changes nothing; a newer package
# upgrades. `--uninstall [--purge]` takes it all away again.
#
#   LOOKOUT_LICENSE_KEY=... sh install.sh --package lookout_0.2.0-1_amd64.deb
#   sh install.sh --repo https://packages.example.com/lookout --repo-key lookout.asc \
#       --license-key-file /root/nr.key --region eu
#   sh install.sh --uninstall [--purge --yes]
#
# The license key is never taken from the command line (ps shows every process's arguments).
# Test hooks (used by tests/e2e/install.rs, not for production): LOOKOUT_INSTALL_OS_RELEASE
# (another os-release file), LOOKOUT_INSTALL_INIT=systemd|none (skip the detection of systemd),
# LOOKOUT_INSTALL_SYSTEMCTL (a program used instead of systemctl).
set -eu

PROG=install.sh
ETC=/etc/lookout
CONFIG=$ETC/lookout.yaml
KEYFILE=$ETC/secrets.key
DATA=/var/lib/lookout
SECRET=newrelic_license_key
UNIT=lookout.service
DROPIN_DIR=/etc/systemd/system/lookout.service.d
DROPIN=$DROPIN_DIR/10-secrets.conf
APT_LIST=/etc/apt/sources.list.d/lookout.list
APT_KEYRINGS=/etc/apt/keyrings
YUM_REPO=/etc/yum.repos.d/lookout.repo
ZYPP_REPO=/etc/zypp/repos.d/lookout.repo
RPM_KEY=/etc/pki/rpm-gpg/RPM-GPG-KEY-lookout
# the release tarball's layout (hosts without .deb or .rpm)
TAR_BIN=/usr/local/bin/lookout
TAR_UNIT=/etc/systemd/system/lookout.service
TAR_DOC=/usr/local/share/doc/lookout
TAR_MANIFEST=/usr/local/share/lookout/installed-files
# the root helper (docs/helper.md) and its units
TAR_HELPER=/usr/local/libexec/lookout/lookout-helper
TAR_HELPER_SERVICE=/etc/systemd/system/lookout-helper.service
TAR_HELPER_SOCKET=/etc/systemd/system/lookout-helper.socket
HELPER_SOCKET_UNIT="lookout-helper.socket"
NR_US=https://otlp.nr-data.net
NR_EU=https://otlp.eu01.nr-data.net
NR_GOV=https://gov-otlp.nr-data.net

usage() {
    cat <<'EOF'
Usage: install.sh [OPTIONS]            install or upgrade lookout, configure it, start it
       install.sh --uninstall [--purge] [--yes]

Where the package comes from (default: the repository already configured on this host):
  --package FILE          a local lookout .deb, .rpm, or release tarball lookout-*.tar.gz
                          (the tarball on distributions without .deb or .rpm)
  --repo URL              add lookout's package repository (apt or dnf/yum/zypper) and
                          install from it
  --repo-key FILE         the repository's signing key (required with --repo)
  --repo-dist "SUITE COMPONENT..."
                          apt only: the suite and components (default: ./, a flat repository)
  --allow-downgrade       install a package older than the one installed

Where the data goes (the configuration is left alone without one of these):
  LOOKOUT_LICENSE_KEY     environment variable: the license key (or NEW_RELIC_LICENSE_KEY)
  --license-key-file FILE read the license key from the first line of FILE
  --license-key-stdin     read the license key from standard input (not echoed on a terminal)
  --region us|eu|gov      New Relic's OTLP endpoint (default: eu for keys starting with "eu",
                          else us)
  --endpoint URL          any OTLP/HTTP endpoint instead of New Relic
  --key-header NAME       the header carrying the key to --endpoint (default: api-key)

  --no-start              do not enable, start or restart the service
  --uninstall             stop and remove lookout; configuration and data are kept
  --purge                 with --uninstall: also delete configuration, data, secrets, user
  -y, --yes               do not ask (--purge asks on a terminal)
  -h, --help              this help

The key is stored encrypted (lookout secrets, /var/lib/lookout/secrets.enc); the
configuration refers to it as ${secret:newrelic_license_key}. Never pass a key as an argument.
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
usage_error() {
    printf '%s: %s (see %s --help)\n' "$PROG" "$*" "$PROG" >&2
    exit 2
}

tmp=""
restore_tty=0
cleanup() {
    if [ "$restore_tty" = 1 ]; then stty echo 2>/dev/null || :; fi
    if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs a command with its output kept aside: shown only when it fails, with what failed.
quiet() {
    q_what=$1
    shift
    if "$@" >"$tmp/cmd.log" 2>&1; then
        return 0
    else
        q_rc=$?
    fi
    sed 's/^/    /' "$tmp/cmd.log" >&2
    die "$q_what failed (exit $q_rc)"
}

# --- options -------------------------------------------------------------------------------

package="" repo="" repo_key="" repo_dist="./" allow_downgrade=0
key_file="" key_stdin=0 region="" endpoint="" key_header=""
no_start=0 uninstall=0 purge=0 yes=0

need_value() {
    [ $# -ge 2 ] || usage_error "$1 needs a value"
}

while [ $# -gt 0 ]; do
    case $1 in
        --*=*)
            opt=${1%%=*}
            val=${1#*=}
            shift
            set -- "$opt" "$val" "$@"
            continue
            ;;
    esac
    case $1 in
        --package) need_value "$@"; package=$2; shift 2 ;;
        --repo) need_value "$@"; repo=$2; shift 2 ;;
        --repo-key) need_value "$@"; repo_key=$2; shift 2 ;;
        --repo-dist) need_value "$@"; repo_dist=$2; shift 2 ;;
        --allow-downgrade) allow_downgrade=1; shift ;;
        --license-key-file) need_value "$@"; key_file=$2; shift 2 ;;
        --license-key-stdin) key_stdin=1; shift ;;
        --license-key | --api-key | --key)
            usage_error "$1: a key is never taken from the command line (every user sees it in ps); set LOOKOUT_LICENSE_KEY, or use --license-key-file FILE or --license-key-stdin"
            ;;
        --region) need_value "$@"; region=$2; shift 2 ;;
        --endpoint) need_value "$@"; endpoint=$2; shift 2 ;;
        --key-header) need_value "$@"; key_header=$2; shift 2 ;;
        --no-start) no_start=1; shift ;;
        --uninstall) uninstall=1; shift ;;
        --purge) purge=1; shift ;;
        -y | --yes) yes=1; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) usage_error "unknown option: $1" ;;
        *) usage_error "unexpected argument: $1" ;;
    esac
done

if [ "$uninstall" = 1 ]; then
    for o in "$package" "$repo" "$repo_key" "$key_file" "$region" "$endpoint" "$key_header"; do
        [ -z "$o" ] || usage_error "--uninstall takes no install options (only --purge and --yes)"
    done
    [ "$key_stdin" = 0 ] || usage_error "--uninstall takes no install options (only --purge and --yes)"
else
    [ "$purge" = 0 ] || usage_error "--purge goes with --uninstall"
    [ -z "$package" ] || [ -z "$repo" ] || usage_error "--package and --repo exclude each other"
    [ -z "$repo" ] || [ -n "$repo_key" ] || usage_error "--repo needs --repo-key (the repository's signing key)"
    [ -z "$repo_key" ] || [ -n "$repo" ] || usage_error "--repo-key goes with --repo"
    [ -z "$key_file" ] || [ "$key_stdin" = 0 ] || usage_error "--license-key-file and --license-key-stdin exclude each other"
    [ -z "$region" ] || [ -z "$endpoint" ] || usage_error "--region and --endpoint exclude each other"
    case $region in
        "" | us | eu | gov) ;;
        *) usage_error "--region must be us, eu or gov, not $region" ;;
    esac
    if [ -n "$endpoint" ]; then
        # quoted into YAML as is: no quotes, backslashes, spaces or `$` (substitution)
        printf '%s\n' "$endpoint" | grep -Eq '^https?://[][A-Za-z0-9._~:/?#@!&()*+,;=%-]+$' ||
            usage_error "--endpoint must be an http:// or https:// URL (OTLP/HTTP), not $endpoint"
    fi
    if [ -n "$key_header" ]; then
        printf '%s\n' "$key_header" | grep -Eq '^[A-Za-z0-9-]+$' ||
            usage_error "--key-header must be a header name (letters, digits, -)"
    fi
    case $repo in
        "" | http://* | https://* | file:/*) ;;
        *) usage_error "--repo must be an http://, https:// or file:/ URL" ;;
    esac
    case $repo_dist in
        *[!A-Za-z0-9._/\ -]*) usage_error "--repo-dist: a suite and components, e.g. \"stable main\"" ;;
    esac
fi

# --- the host ------------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "install.sh must run as root (it installs a package, a service and a system user): sudo sh $0 ..."

tmp=$(mktemp -d)
umask 022
# nothing from the caller's environment steers the lookout commands run here
unset LOOKOUT_CONFIG LOOKOUT_DATA_DIR LOOKOUT_SECRETS_KEY CREDENTIALS_DIRECTORY RUST_LOG
export DEBIAN_FRONTEND=noninteractive

os_release=${LOOKOUT_INSTALL_OS_RELEASE:-/etc/os-release}
if [ ! -r "$os_release" ] && [ -z "${LOOKOUT_INSTALL_OS_RELEASE:-}" ]; then
    os_release=/usr/lib/os-release
fi
[ -r "$os_release" ] || die "cannot read $os_release: this is not a Linux distribution install.sh knows"

# One field of os-release, unquoted (the file is read, never run).
os_field() {
    sed -n "s/^$1=//p" "$os_release" | head -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}

os_id=$(os_field ID)
os_like=$(os_field ID_LIKE)
os_name=$(os_field PRETTY_NAME)
[ -n "$os_name" ] || os_name=${os_id:-unknown}
family=""
for id in $os_id $os_like; do
    case $id in
        debian | ubuntu) family=deb ;;
        rhel | centos | fedora | rocky | almalinux | amzn | ol) family=rpm ;;
        suse | opensuse | opensuse-* | sles | sled | sle-micro) family=suse ;;
        alpine) die "$os_name uses musl: lookout's binaries need glibc, Alpine is not supported" ;;
    esac
    [ -z "$family" ] || break
done
[ -n "$family" ] || family=other

case ${LOOKOUT_INSTALL_INIT:-} in
    systemd) init=systemd ;;
    none) init=none ;;
    "") if [ -d /run/systemd/system ]; then init=systemd; else init=none; fi ;;
    *) die "LOOKOUT_INSTALL_INIT must be systemd or none" ;;
esac
systemctl=${LOOKOUT_INSTALL_SYSTEMCTL:-systemctl}

sc() { "$systemctl" "$@"; }

have() { command -v "$1" >/dev/null 2>&1; }

rpm_tool() {
    if have dnf; then echo dnf; elif have yum; then echo yum; elif have rpm; then echo rpm; else echo ""; fi
}

# --- the package ---------------------------------------------------------------------------

deb_version() {
    dpkg-query -W -f '${Status} ${Version}\n' lookout 2>/dev/null |
        sed -n 's/^install ok installed //p'
}
rpm_version() {
    rpm -q --qf '%{VERSION}-%{RELEASE}\n' lookout 2>/dev/null | grep -v 'not installed' || :
}
tar_version() {
    if [ -f "$TAR_MANIFEST" ] && [ -x "$TAR_BIN" ]; then lookout_version "$TAR_BIN"; fi
}
lookout_version() {
    "$1" version --json 2>/dev/null | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p'
}
installed_version() {
    case $kind in
        deb) deb_version ;;
        rpm) rpm_version ;;
        tar) tar_version ;;
    esac
}

# Says what happened to the package from the versions before and after.
report_package() {
    before=$1 after=$2 from=$3
    if [ -z "$after" ]; then
        die "the package manager did not install lookout (from $from)"
    elif [ "$before" = "$after" ]; then
        say "- package: lookout $after already installed (unchanged)"
    elif [ -z "$before" ]; then
        say "- package: lookout $after installed from $from"
        changed=1
    else
        say "- package: lookout upgraded from $before to $after ($from)"
        changed=1
    fi
}

abs_path() {
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}

# Refuses an older package unless --allow-downgrade; $3 is the comparison's verdict.
check_downgrade() {
    if [ "$3" = older ] && [ "$allow_downgrade" = 0 ]; then
        die "the installed lookout $1 is newer than $2: add --allow-downgrade to install it anyway"
    fi
}

apt_install() {
    quiet "apt-get install $*" apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

install_deb_file() {
    f=$(abs_path "$1")
    name=$(dpkg-deb -f "$f" Package 2>/dev/null) || die "$1 is not a Debian package"
    [ "$name" = lookout ] || die "$1 holds the package $name, not lookout"
    new=$(dpkg-deb -f "$f" Version)
    before=$(deb_version)
    if [ "$before" = "$new" ]; then
        report_package "$before" "$before" "$1"
        return
    fi
    verdict=newer
    if [ -n "$before" ] && dpkg --compare-versions "$new" lt "$before"; then verdict=older; fi
    check_downgrade "$before" "$new" "$verdict"
    # the configuration is a conffile: the operator's (or this script's) file is kept
    if [ "$verdict" = older ]; then
        apt_install --allow-downgrades "$f"
    else
        apt_install "$f"
    fi
    report_package "$before" "$(deb_version)" "$1"
}

install_rpm_file() {
    f=$(abs_path "$1")
    name=$(rpm -qp --qf '%{NAME}' "$f" 2>/dev/null) || die "$1 is not an RPM package"
    [ "$name" = lookout ] || die "$1 holds the package $name, not lookout"
    new=$(rpm -qp --qf '%{VERSION}-%{RELEASE}' "$f")
    before=$(rpm_version)
    if [ "$before" = "$new" ]; then
        report_package "$before" "$before" "$1"
        return
    fi
    verdict=newer
    if [ -n "$before" ] && [ "$(printf '%s\n%s\n' "$new" "$before" | sort -V | head -n 1)" = "$new" ]; then
        verdict=older
    fi
    check_downgrade "$before" "$new" "$verdict"
    # %config(noreplace): an edited configuration is kept on upgrade
    case $family/$(rpm_tool)/$verdict in
        suse/*/older) quiet "zypper install" zypper -n install --oldpackage --allow-unsigned-rpm "$f" ;;
        suse/*) quiet "zypper install" zypper -n install --allow-unsigned-rpm "$f" ;;
        */dnf/older | */yum/older) quiet "$(rpm_tool) downgrade" "$(rpm_tool)" -y downgrade "$f" ;;
        */dnf/* | */yum/*) quiet "$(rpm_tool) install" "$(rpm_tool)" -y install "$f" ;;
        */rpm/older) quiet "rpm -U" rpm -U --oldpackage "$f" ;;
        */rpm/*) quiet "rpm -U" rpm -U "$f" ;;
        *) die "no rpm, dnf or yum on this host" ;;
    esac
    report_package "$before" "$(rpm_version)" "$1"
}

# Writes $1 from the file $2 unless it already holds exactly that; mode $3. Says whether it
# changed through its exit status (0: written).
put_file() {
    if [ -f "$1" ] && cmp -s "$2" "$1"; then
        rm -f "$2"
        return 1
    fi
    mkdir -p "$(dirname "$1")"
    chmod "$3" "$2"
    mv -f "$2" "$1"
    return 0
}

ensure_user() {
    if getent passwd lookout >/dev/null; then return; fi
    nologin=/usr/sbin/nologin
    [ -x "$nologin" ] || nologin=/sbin/nologin
    getent group lookout >/dev/null || quiet "groupadd" groupadd --system lookout
    quiet "useradd" useradd --system --gid lookout --home-dir "$DATA" --no-create-home \
        --shell "$nologin" --comment "lookout agent" lookout
    say "- user: lookout (system user) created"
    changed=1
}

install_tarball() {
    f=$(abs_path "$1")
    sums="$(dirname "$f")/SHA256SUMS"
    if [ -f "$sums" ]; then
        if grep -q " \*\{0,1\}$(basename "$f")\$" "$sums"; then
            (cd "$(dirname "$f")" && quiet "the checksum of $1" sha256sum -c --ignore-missing SHA256SUMS)
            say "- package: $(basename "$f") matches SHA256SUMS"
        else
            warn "$sums does not list $(basename "$f"): its checksum is not checked"
        fi
    fi
    mkdir "$tmp/x"
    tar -xzf "$f" -C "$tmp/x" 2>"$tmp/cmd.log" || die "$1 is not a readable .tar.gz: $(head -n 1 "$tmp/cmd.log")"
    top=$(find "$tmp/x" -mindepth 1 -maxdepth 1 -type d -name 'lookout-*' | head -n 1)
    { [ -n "$top" ] && [ -x "$top/bin/lookout" ] && [ -f "$top/systemd/lookout.service" ]; } ||
        die "$1 is not a lookout release tarball (lookout-<version>-linux-<arch>/bin/lookout)"
    new=$(lookout_version "$top/bin/lookout")
    [ -n "$new" ] || die "$top/bin/lookout does not run on this host (wrong architecture or C library?)"
    before=$(tar_version)
    ensure_user
    mkdir -p "$(dirname "$TAR_BIN")" "$(dirname "$TAR_MANIFEST")" "$TAR_DOC"
    bin_changed=0
    cp "$top/bin/lookout" "$tmp/lookout.bin"
    if put_file "$TAR_BIN" "$tmp/lookout.bin" 0755; then bin_changed=1; fi
    sed "s#/usr/bin/lookout#$TAR_BIN#g" "$top/systemd/lookout.service" >"$tmp/unit"
    if put_file "$TAR_UNIT" "$tmp/unit" 0644; then changed=1; fi
    if [ -x "$top/bin/lookout-helper" ]; then
        cp "$top/bin/lookout-helper" "$tmp/helper.bin"
        if put_file "$TAR_HELPER" "$tmp/helper.bin" 0755; then changed=1; fi
        sed "s#/usr/libexec/lookout/lookout-helper#$TAR_HELPER#g" "$top/systemd/lookout-helper.service" >"$tmp/helper.unit"
        if put_file "$TAR_HELPER_SERVICE" "$tmp/helper.unit" 0644; then changed=1; fi
        cp "$top/systemd/lookout-helper.socket" "$tmp/helper.socket"
        if put_file "$TAR_HELPER_SOCKET" "$tmp/helper.socket" 0644; then changed=1; fi
    fi
    if [ ! -e "$CONFIG" ]; then
        install -d -m 0755 "$ETC"
        install -m 0644 "$top/etc/lookout.yaml" "$CONFIG"
    fi
    install -d -m 0700 -o lookout -g lookout "$DATA"
    rm -rf "$TAR_DOC"
    cp -R "$top/doc" "$TAR_DOC"
    printf '%s\n' "$TAR_BIN" "$TAR_UNIT" "$TAR_DOC" >"$TAR_MANIFEST"
    if [ -f "$TAR_HELPER" ]; then
        printf '%s\n' "$TAR_HELPER" "$TAR_HELPER_SERVICE" "$TAR_HELPER_SOCKET" >>"$TAR_MANIFEST"
    fi
    if have restorecon; then restorecon -R "$TAR_BIN" "$TAR_UNIT" "$TAR_DOC" "$TAR_HELPER" >/dev/null 2>&1 || :; fi
    if [ "$bin_changed" = 0 ]; then
        report_package "$new" "$new" "$1"
    elif [ "$before" = "$new" ]; then
        say "- package: $TAR_BIN replaced (another build of $new)"
        changed=1
    else
        report_package "$before" "$new" "$1"
    fi
}

setup_apt_repo() {
    if grep -q 'BEGIN PGP PUBLIC KEY BLOCK' "$repo_key"; then ext=asc; else ext=gpg; fi
    keyring=$APT_KEYRINGS/lookout.$ext
    for old in "$APT_KEYRINGS/lookout.asc" "$APT_KEYRINGS/lookout.gpg"; do
        [ "$old" = "$keyring" ] || rm -f "$old"
    done
    cp "$repo_key" "$tmp/keyring"
    repo_changed=0
    if put_file "$keyring" "$tmp/keyring" 0644; then repo_changed=1; fi
    {
        say "# lookout's package repository, written by lookout's install.sh (--uninstall removes it)"
        say "deb [signed-by=$keyring] $repo $repo_dist"
    } >"$tmp/list"
    if put_file "$APT_LIST" "$tmp/list" 0644; then repo_changed=1; fi
    if [ "$repo_changed" = 1 ]; then
        say "- repository: $APT_LIST and $keyring written"
    else
        say "- repository: $APT_LIST unchanged"
    fi
}

setup_rpm_repo() {
    if [ "$family" = suse ]; then file=$ZYPP_REPO; else file=$YUM_REPO; fi
    cp "$repo_key" "$tmp/rpmkey"
    repo_changed=0
    if put_file "$RPM_KEY" "$tmp/rpmkey" 0644; then repo_changed=1; fi
    {
        say "# lookout's package repository, written by lookout's install.sh (--uninstall removes it)"
        say "[lookout]"
        say "name=lookout"
        say "baseurl=$repo"
        say "enabled=1"
        say "gpgcheck=1"
        say "gpgkey=file://$RPM_KEY"
        if [ "$family" = suse ]; then
            say "type=rpm-md"
            say "autorefresh=1"
        fi
    } >"$tmp/repo"
    if put_file "$file" "$tmp/repo" 0644; then repo_changed=1; fi
    quiet "rpm --import $RPM_KEY" rpm --import "$RPM_KEY"
    if [ "$repo_changed" = 1 ]; then
        say "- repository: $file and $RPM_KEY written"
    else
        say "- repository: $file unchanged"
    fi
}

# apt-get update of lookout's list alone (no other repository is contacted). A repository that
# verified before and now does not is only a warning to apt, which keeps the old indexes: that
# is a failure here too.
apt_update_repo() {
    if apt-get update -q -o Dir::Etc::sourcelist="$APT_LIST" -o Dir::Etc::sourceparts=- \
        -o APT::Get::List-Cleanup=0 >"$tmp/cmd.log" 2>&1 &&
        ! grep -Eq '^[WE]: .*(GPG|[Ss]ignature|not signed|NO_PUBKEY|EXPKEYSIG|BADSIG|Failed to fetch)' "$tmp/cmd.log"; then
        return 0
    fi
    sed 's/^/    /' "$tmp/cmd.log" >&2
    die "apt-get update of the lookout repository failed: is $repo right, and is it signed by the key in $repo_key?"
}

install_from_repo() {
    before=$(installed_version)
    case $family in
        deb)
            [ -z "$repo" ] || apt_update_repo
            apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
                lookout >"$tmp/cmd.log" 2>&1 || {
                sed 's/^/    /' "$tmp/cmd.log" >&2
                die "apt-get install lookout failed: is a lookout repository configured (--repo), and apt-get update run?"
            }
            ;;
        rpm)
            t=$(rpm_tool)
            { [ "$t" != rpm ] && [ -n "$t" ]; } || die "installing from a repository needs dnf or yum"
            if [ -n "$before" ]; then
                quiet "$t upgrade lookout" "$t" -y upgrade lookout
            else
                quiet "$t install lookout" "$t" -y install lookout
            fi
            ;;
        suse)
            quiet "zypper refresh" zypper -n --gpg-auto-import-keys refresh
            quiet "zypper install lookout" zypper -n install lookout
            ;;
    esac
    report_package "$before" "$(installed_version)" "${repo:-the configured repository}"
}

install_package() {
    case $package in
        "") ;;
        *.deb) [ "$family" = deb ] || die "$package is a .deb, for Debian and Ubuntu; $os_name needs the $(family_package)" ;;
        *.rpm) [ "$family" = rpm ] || [ "$family" = suse ] || die "$package is an .rpm, for RHEL, Fedora and SUSE; $os_name needs the $(family_package)" ;;
        *.tar.gz | *.tgz) [ "$family" = other ] || die "$os_name takes the $(family_package): the tarball is for distributions without .deb or .rpm" ;;
        *) die "$package: not a .deb, .rpm or lookout-*.tar.gz" ;;
    esac
    if [ -n "$package" ]; then
        { [ -f "$package" ] && [ -r "$package" ]; } || die "no package file $package"
    fi
    case $package in
        *.tar.gz | *.tgz)
            kind=tar
            install_tarball "$package"
            return
            ;;
    esac
    case $family in
        deb)
            kind=deb
            { have apt-get && have dpkg; } || die "$os_name without apt-get and dpkg"
            [ -z "$repo" ] || setup_apt_repo
            if [ -n "$package" ]; then install_deb_file "$package"; else install_from_repo; fi
            ;;
        rpm | suse)
            kind=rpm
            have rpm || die "$os_name without rpm"
            [ "$family" != suse ] || have zypper || die "$os_name without zypper"
            [ -z "$repo" ] || setup_rpm_repo
            if [ -n "$package" ]; then install_rpm_file "$package"; else install_from_repo; fi
            ;;
        other)
            die "there is no lookout package for $os_name (ID=$os_id): install the release tarball with --package lookout-<version>-linux-$(uname -m).tar.gz"
            ;;
    esac
}

family_package() {
    case $family in
        deb) echo ".deb" ;;
        rpm | suse) echo ".rpm" ;;
        *) echo "release tarball lookout-<version>-linux-$(uname -m).tar.gz" ;;
    esac
}

# --- the key, the configuration, the service ----------------------------------------------

read_license_key() {
    license=""
    if [ -n "$key_file" ]; then
        { [ -r "$key_file" ] && [ -f "$key_file" ]; } || die "cannot read the license key file $key_file"
        { IFS= read -r license || :; } <"$key_file"
        from="the file $key_file"
    elif [ "$key_stdin" = 1 ]; then
        if [ -t 0 ]; then
            printf 'license key (not echoed): ' >&2
            restore_tty=1
            stty -echo
        fi
        IFS= read -r license || :
        if [ "$restore_tty" = 1 ]; then
            stty echo
            restore_tty=0
            printf '\n' >&2
        fi
        from="standard input"
    elif [ -n "${LOOKOUT_LICENSE_KEY:-}" ]; then
        license=$LOOKOUT_LICENSE_KEY
        from="LOOKOUT_LICENSE_KEY"
    elif [ -n "${NEW_RELIC_LICENSE_KEY:-}" ]; then
        license=$NEW_RELIC_LICENSE_KEY
        from="NEW_RELIC_LICENSE_KEY"
    fi
    # no child (package scripts, the agent) gets it through the environment
    unset LOOKOUT_LICENSE_KEY NEW_RELIC_LICENSE_KEY
    cr=$(printf '\r')
    license=${license%"$cr"}
    license=${license#"${license%%[![:space:]]*}"}
    license=${license%"${license##*[![:space:]]}"}
    if [ -z "$license" ]; then
        if [ -n "$key_file" ] || [ "$key_stdin" = 1 ]; then die "the license key from $from is empty"; fi
        return
    fi
    case $license in
        *[![:print:]]*) die "the license key from $from holds a control character" ;;
    esac
}

store_license_key() {
    [ -n "$license" ] || return 0
    # printf is a shell builtin: the key goes through a pipe, never an argument list
    if printf '%s' "$license" | LOOKOUT_SECRETS_KEY=$KEYFILE "$lookout" secrets set "$SECRET" \
        --json --data-dir "$DATA" >"$tmp/secret.out" 2>"$tmp/cmd.log"; then
        :
    else
        sed 's/^/    /' "$tmp/cmd.log" >&2
        die "storing the license key in the secret store failed"
    fi
    case $(cat "$tmp/secret.out") in
        *'"change":"unchanged"'*) say "- secret $SECRET: unchanged" ;;
        *'"change":"rotated"'*)
            say "- secret $SECRET: replaced (encrypted in $DATA/secrets.enc)"
            changed=1
            ;;
        *)
            say "- secret $SECRET: stored (encrypted in $DATA/secrets.enc, key $KEYFILE)"
            changed=1
            ;;
    esac
}

# The version of systemd, 0 when unknown.
systemd_version() {
    v=$(sc --version 2>/dev/null | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
    echo "${v:-0}"
}

# The secret store's key: root-only on disk, handed to the service as a systemd credential
# (LoadCredential=, systemd 247+). Without that (no systemd, or an older one), the agent's own
# user must read it, so it owns it (the store and its key then live with that user).
key_access() {
    [ -f "$KEYFILE" ] || return 0
    credentials=0
    if [ "$init" = systemd ] && [ "$(systemd_version)" -ge 247 ]; then credentials=1; fi
    if [ "$credentials" = 1 ]; then owner=root; else owner=lookout; fi
    if [ "$(stat -c '%U %a' "$KEYFILE")" != "$owner 600" ]; then
        chown "$owner:$owner" "$KEYFILE"
        chmod 0600 "$KEYFILE"
        say "- key $KEYFILE: owned by $owner, mode 0600"
        changed=1
    fi
    if [ "$credentials" = 1 ]; then
        {
            say "# written by lookout's install.sh: the secret store's key, root-only on disk, is handed"
            say "# to the service as the credential lookout-secrets-key (\$CREDENTIALS_DIRECTORY)."
            say "[Service]"
            say "LoadCredential=lookout-secrets-key:$KEYFILE"
        } >"$tmp/dropin"
        if put_file "$DROPIN" "$tmp/dropin" 0644; then
            say "- systemd drop-in $DROPIN: written (the key as a credential)"
            changed=1
        else
            say "- systemd drop-in $DROPIN: unchanged"
        fi
    elif [ -f "$DROPIN" ]; then
        rm -f "$DROPIN"
        rmdir "$DROPIN_DIR" 2>/dev/null || :
        changed=1
    fi
}

# The configuration for the delivery asked for; the line "# install.sh delivery: ..." names
# it, so a later run with the same settings keeps the file even when the operator edited it.
write_config() {
    if [ -z "$endpoint" ]; then
        if [ -f "$CONFIG" ]; then say "- config $CONFIG: kept (no license key or endpoint given)"; fi
        return
    fi
    header=""
    if [ -n "$license" ] || stored_secret; then header=${key_header:-api-key}; fi
    marker="# install.sh delivery: sink=$sink endpoint=$endpoint header=${header:-none}"
    if [ -f "$CONFIG" ] && grep -qxF "$marker" "$CONFIG"; then
        say "- config $CONFIG: unchanged"
        return
    fi
    candidate=$ETC/.lookout.yaml.new
    {
        say "# lookout's configuration, written by install.sh (docs/install.md): the package's local"
        say "# defaults (host metrics served at http://127.0.0.1:13133/metrics/host) and delivery to"
        say "# $delivery. Secrets are in the encrypted store ($DATA/secrets.enc), never in this"
        say "# file. Edit freely: install.sh keeps this file while the line below names the same"
        say "# delivery, and otherwise keeps it as lookout.yaml.bak-<date> before writing a new one."
        say "$marker"
        say "server:"
        say "  listen: 127.0.0.1:13133"
        say "log:"
        say "  level: info"
        say "sources:"
        say "  host:"
        say "    type: host_metrics"
        say "    interval: 10s"
        say "sinks:"
        say "  prometheus:"
        say "    type: prometheus"
        say "    inputs: [host]"
        say "    path: /metrics/host"
        say "  $sink:"
        say "    type: otlp_http"
        say "    inputs: [host]"
        say "    endpoint: \"$endpoint\""
        if [ -n "$header" ]; then
            say "    headers:"
            say "      $header: \"\${secret:$SECRET}\""
        fi
        if [ "$sink" = newrelic ]; then
            say "    compression: zstd"
            say "    temporality: delta"
        fi
    } >"$candidate"
    chmod 0644 "$candidate"
    if LOOKOUT_SECRETS_KEY=$KEYFILE "$lookout" config validate "$candidate" --data-dir "$DATA" >"$tmp/cmd.log" 2>&1; then
        :
    else
        sed 's/^/    /' "$tmp/cmd.log" >&2
        rm -f "$candidate"
        die "the new configuration is not valid; $CONFIG was left as it was"
    fi
    if [ -f "$CONFIG" ]; then
        backup=$CONFIG.bak-$(date +%Y%m%d-%H%M%S)
        [ ! -e "$backup" ] || backup=$backup-$$
        cp -p "$CONFIG" "$backup"
        mv -f "$candidate" "$CONFIG"
        say "- config $CONFIG: written for $delivery, validated (the previous one is $backup)"
    else
        mv -f "$candidate" "$CONFIG"
        say "- config $CONFIG: written for $delivery, validated"
    fi
    changed=1
}

# Whether the store already holds the key (a run without the key keeps using it).
stored_secret() {
    [ -f "$DATA/secrets.enc" ] || return 1
    LOOKOUT_SECRETS_KEY=$KEYFILE "$lookout" secrets list --json --data-dir "$DATA" 2>/dev/null |
        grep -q "\"$SECRET\""
}

# `lookout status`, as the agent's user when possible (nothing it writes is root's then).
agent_status() {
    if have runuser; then
        runuser -u lookout -- "$lookout" status --data-dir "$DATA"
    else
        "$lookout" status --data-dir "$DATA"
    fi
}

start_service() {
    start_cmd="runuser -u lookout -- $lookout run --config $CONFIG --data-dir $DATA"
    if [ "$init" != systemd ]; then
        say "- service: systemd does not run on this host; start the agent with your init system:"
        say "    $start_cmd"
        return
    fi
    if [ "$no_start" = 1 ]; then
        if sc is-active --quiet "$UNIT"; then
            if [ "$changed" = 1 ]; then say "- service: running; not restarted (--no-start): systemctl restart lookout applies the changes"; fi
        else
            say "- service: not started (--no-start): systemctl enable --now lookout"
        fi
        return
    fi
    if [ "$changed" = 1 ]; then quiet "systemctl daemon-reload" sc daemon-reload; fi
    # the packages enable the root helper's socket themselves; the tarball's is ours to enable
    if [ -f "$TAR_HELPER_SOCKET" ] && ! sc is-enabled --quiet "$HELPER_SOCKET_UNIT" 2>/dev/null; then
        quiet "systemctl enable --now $HELPER_SOCKET_UNIT" sc enable --now "$HELPER_SOCKET_UNIT"
        say "- root helper: $HELPER_SOCKET_UNIT enabled (config apply can write $CONFIG: docs/helper.md)"
    fi
    if ! sc is-enabled --quiet "$UNIT" 2>/dev/null; then
        quiet "systemctl enable $UNIT" sc enable "$UNIT"
        say "- service: enabled"
    fi
    if sc is-active --quiet "$UNIT"; then
        if [ "$changed" = 1 ]; then
            quiet "systemctl restart $UNIT (journalctl -u lookout says why)" sc restart "$UNIT"
            say "- service: restarted"
        else
            say "- service: running; not restarted (nothing changed)"
        fi
    else
        quiet "systemctl start $UNIT (journalctl -u lookout says why)" sc start "$UNIT"
        say "- service: started"
        started=1
    fi
    # the agent answers once its pipeline runs
    i=0
    while ! agent_status >"$tmp/status" 2>&1; do
        i=$((i + 1))
        if [ "$i" -ge 30 ] || ! sc is-active --quiet "$UNIT"; then
            sed 's/^/    /' "$tmp/status" >&2
            die "the agent does not answer: systemctl status lookout and journalctl -u lookout say why"
        fi
        sleep 1
    done
    say ""
    cat "$tmp/status"
    say ""
}

# --- uninstall -----------------------------------------------------------------------------

confirm_purge() {
    [ "$purge" = 1 ] && [ "$yes" = 0 ] || return 0
    if [ -t 0 ]; then
        printf '%s' "--purge deletes $ETC (configuration, the secrets key), $DATA (queue, secrets, history) and the lookout user. Continue? [y/N] " >&2
        read -r answer || answer=""
        case $answer in
            y | Y | yes | YES) ;;
            *) die "nothing removed" ;;
        esac
    else
        die "--purge deletes the configuration, data and secrets: add --yes to confirm"
    fi
}

# The processes of the user lookout, exited ones not yet reaped left out.
live_pids() {
    for p in $(pgrep -u lookout 2>/dev/null || :); do
        case $(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d ' ' -f 1) in
            Z | "") ;;
            *) printf '%s ' "$p" ;;
        esac
    done
}

remove_file() {
    if [ -e "$1" ]; then
        rm -f "$1"
        say "- removed $1"
        found=1
    fi
}

do_uninstall() {
    confirm_purge
    found=0
    if [ "$init" = systemd ] && [ -f "$TAR_HELPER_SOCKET" ]; then
        sc disable --now "$HELPER_SOCKET_UNIT" >/dev/null 2>&1 || :
    fi
    if [ "$init" = systemd ] && { sc is-active --quiet "$UNIT" || sc is-enabled --quiet "$UNIT"; } 2>/dev/null; then
        quiet "systemctl stop $UNIT" sc stop "$UNIT"
        sc disable "$UNIT" >/dev/null 2>&1 || :
        say "- service: stopped and disabled"
        found=1
    fi
    if have dpkg-query && dpkg-query -W -f '${Status}' lookout 2>/dev/null | grep -q ' installed$'; then
        quiet "dpkg --remove lookout" dpkg --remove lookout
        say "- package: lookout removed"
        found=1
    elif have rpm && rpm -q lookout >/dev/null 2>&1; then
        case $family/$(rpm_tool) in
            suse/*) quiet "zypper remove lookout" zypper -n remove lookout ;;
            */dnf | */yum) quiet "$(rpm_tool) remove lookout" "$(rpm_tool)" -y remove lookout ;;
            *) quiet "rpm -e lookout" rpm -e lookout ;;
        esac
        say "- package: lookout removed"
        found=1
    fi
    if [ -f "$TAR_MANIFEST" ]; then
        while IFS= read -r f; do
            case $f in
                "$TAR_BIN" | "$TAR_UNIT" | "$TAR_DOC" | "$TAR_HELPER" | "$TAR_HELPER_SERVICE" | "$TAR_HELPER_SOCKET") rm -rf "$f" ;;
            esac
        done <"$TAR_MANIFEST"
        rm -f "$TAR_MANIFEST"
        rmdir "$(dirname "$TAR_MANIFEST")" "$(dirname "$TAR_HELPER")" 2>/dev/null || :
        say "- release tarball files removed ($TAR_BIN, $TAR_UNIT, $TAR_DOC)"
        found=1
    fi
    remove_file "$DROPIN"
    rmdir "$DROPIN_DIR" 2>/dev/null || :
    pids=""
    if getent passwd lookout >/dev/null && have pgrep; then pids=$(live_pids); fi
    if [ -n "$pids" ]; then
        [ "$purge" = 0 ] || die "processes of the user lookout still run (pids ${pids% }): stop them, then run --uninstall --purge again"
        warn "processes of the user lookout still run (pids ${pids% }; started outside systemd?): stop them"
    fi
    for f in "$APT_LIST" "$APT_KEYRINGS/lookout.asc" "$APT_KEYRINGS/lookout.gpg" "$YUM_REPO" "$ZYPP_REPO" "$RPM_KEY"; do
        remove_file "$f"
    done
    if [ "$init" = systemd ] && [ "$found" = 1 ]; then sc daemon-reload >/dev/null 2>&1 || :; fi
    if [ "$purge" = 1 ]; then
        if have dpkg-query && dpkg-query -W -f '${Status}' lookout 2>/dev/null | grep -q 'config-files$'; then
            quiet "dpkg --purge lookout" dpkg --purge lookout
            say "- package: lookout purged (with /etc/lookout and /var/lib/lookout)"
            found=1
        fi
        for d in "$ETC" "$DATA"; do
            if [ -e "$d" ]; then
                rm -rf "$d"
                say "- deleted $d"
                found=1
            fi
        done
        if getent passwd lookout >/dev/null; then
            quiet "userdel lookout (does a lookout process still run?)" userdel lookout
            say "- user lookout deleted"
            found=1
        fi
        if getent group lookout >/dev/null; then quiet "groupdel lookout" groupdel lookout; fi
    fi
    if [ "$found" = 0 ]; then
        if [ -e "$ETC" ] || [ -e "$DATA" ]; then
            say "lookout is not installed; its configuration and data remain ($ETC, $DATA): --purge deletes them"
        else
            say "lookout is not installed: nothing to remove"
        fi
    elif [ "$purge" = 1 ]; then
        say "done: lookout removed, with its configuration, data and user"
    else
        say "done: lookout removed; $ETC and $DATA are kept (--uninstall --purge deletes them)"
    fi
}

# --- main ----------------------------------------------------------------------------------

case $family in
    deb) manager=dpkg/apt ;;
    rpm) manager="rpm/$(rpm_tool)" ;;
    suse) manager=rpm/zypper ;;
    *) manager="the release tarball" ;;
esac
say "lookout install.sh: $os_name ($manager), init: $init"

if [ "$uninstall" = 1 ]; then
    do_uninstall
    exit 0
fi

read_license_key
# a key stored by an earlier run serves a later one given only --region or --endpoint
if [ -z "$license" ] && [ ! -f "$DATA/secrets.enc" ]; then
    [ -z "$region" ] || die "--region needs the license key (LOOKOUT_LICENSE_KEY, --license-key-file or --license-key-stdin)"
    [ -z "$key_header" ] || usage_error "--key-header needs a license key"
fi
sink="" delivery=""
if [ -n "$endpoint" ]; then
    sink=otlp
    delivery=$endpoint
elif [ -n "$region" ] || [ -n "$license" ]; then
    if [ -z "$region" ]; then
        case $license in eu*) region=eu ;; *) region=us ;; esac
    fi
    case $region in
        eu) endpoint=$NR_EU ;;
        gov) endpoint=$NR_GOV ;;
        *) endpoint=$NR_US ;;
    esac
    sink=newrelic
    delivery="New Relic ($region, $endpoint)"
fi

changed=0 started=0
kind=""
install_package
case $kind in
    tar) lookout=$TAR_BIN ;;
    *) lookout=/usr/bin/lookout ;;
esac
[ -x "$lookout" ] || die "the package did not install $lookout"
getent passwd lookout >/dev/null || die "the package did not create the lookout user"

store_license_key
key_access
if [ "$sink" = newrelic ] && [ -z "$license" ] && ! stored_secret; then
    die "--region needs the license key (LOOKOUT_LICENSE_KEY, --license-key-file or --license-key-stdin)"
fi
write_config
# everything the commands above wrote as root belongs to the agent's user
if [ -d "$DATA" ]; then
    chown -R lookout:lookout "$DATA"
    chmod 0700 "$DATA"
fi
start_service
version=$(installed_version)
if [ "$changed" = 1 ]; then
    say "done: lookout $version installed"
elif [ "$started" = 1 ]; then
    say "done: lookout $version started (nothing else changed)"
else
    say "done: unchanged (lookout $version)"
fi
