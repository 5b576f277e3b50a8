#!/usr/bin/env bash
# Builds dist/Tunnelkeeper-<version>-macos-arm64.dmg: the frozen menu-bar app in a disk image,
# signed and notarized when credentials are configured. Run it on an Apple Silicon Mac, from
# anywhere: build/macos/package.sh
#
# Architecture: arm64 only. cryptography, which paramiko does its crypto with, ships macOS
# wheels for arm64 only since 49.0.0 (cryptography-49.0.0-cp311-abi3-macosx_11_0_arm64.whl, the
# same for 50.0.x); the last release with Intel code is 48.0.1
# (cryptography-48.0.1-cp311-abi3-macosx_10_9_universal2.whl). Asking PyPI for
#   pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --platform macosx_15_0_x86_64 cryptography
# gets 48.0.1, and with --platform macosx_11_0_arm64 the newest release. An Intel or universal2
# build would have to pin cryptography below 49 and go without its fixes. So the app is built
# natively for arm64 (GitHub's macos-14 runners are Apple Silicon), Intel Macs are not
# supported by this package, and this script refuses an Intel Mac or an Intel (Rosetta) Python.
#
# Environment, all optional:
#   PYTHON                       interpreter that makes the venv (default python3; 3.11+, arm64)
#   TUNNELKEEPER_SIGN_IDENTITY   codesign identity in the keychain, e.g.
#                                "Developer ID Application: Example Ltd (AB12CD34EF)"
#   TUNNELKEEPER_NOTARY_PROFILE  a notarytool keychain profile (xcrun notarytool store-credentials)
#   or TUNNELKEEPER_NOTARY_APPLE_ID, TUNNELKEEPER_NOTARY_TEAM_ID and
#      TUNNELKEEPER_NOTARY_PASSWORD (an app-specific password)
#
# Written for the bash 3.2 that macOS ships as well as newer ones.
set -euo pipefail

cd "$(dirname "$0")/../.."

ARCH=arm64
APP=dist/Tunnelkeeper.app
MAIN="$APP/Contents/MacOS/Tunnelkeeper"
VENV=.venv
PY="$VENV/bin/python"

say() { printf '==> %s\n' "$*"; }
die() {
	printf 'package.sh: %s\n' "$*" >&2
	exit 1
}

[ "$(uname -s)" = Darwin ] || die "the macOS app is built on macOS"
[ "$(uname -m)" = "$ARCH" ] || die "this builds the arm64 app on an Apple Silicon Mac (Intel is not supported: see the top of this script)"

VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' app/__init__.py)
[ -n "$VERSION" ] || die "no __version__ line in app/__init__.py"
DMG="dist/Tunnelkeeper-$VERSION-macos-$ARCH.dmg"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tunnelkeeper-package.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# --- the build venv ------------------------------------------------------------------------
if [ ! -x "$PY" ]; then
	"${PYTHON:-python3}" -m venv "$VENV"
fi
[ "$("$PY" -c 'import platform; print(platform.machine())')" = "$ARCH" ] ||
	die "$PY is not an arm64 Python (an Intel one running under Rosetta?): remove $VENV and set PYTHON to an arm64 python3"
"$PY" -m pip install --quiet --upgrade pip
# editable, like the Makefile's dev install, so a developer's venv keeps following the checkout
"$PY" -m pip install --quiet --editable '.[dist]'

# --- freeze ------------------------------------------------------------------------------------
say "freezing Tunnelkeeper $VERSION"
# PyInstaller's work files stay in .pyinstaller/ (build/ holds these scripts).
"$PY" -m PyInstaller --noconfirm --clean --workpath .pyinstaller/work --distpath dist pyinstaller.spec
[ -x "$MAIN" ] || die "PyInstaller did not produce $MAIN"

# Every bundled binary must hold arm64 code and need no newer macOS than Info.plist promises.
# PySide6's own binding libraries are exempt from the version check: they are built without a
# deployment target, so they state the SDK they were built with (shiboken6 6.11.3: 15.0;
# PySide6 and shiboken6 6.12.0: 26.0) while their wheels are tagged macosx_13_0 / macosx_14_0
# and the Qt libraries in the same 6.12.0 wheel state 14.4.
"$PY" build/macos/minimum_macos.py --arch "$ARCH" \
	--ignore 'libpyside6.abi3.*.dylib' --ignore 'libshiboken6.abi3.*.dylib' \
	--ignore 'Shiboken.abi3.so' --ignore 'Qt*.abi3.so' \
	"$APP"

# --- sign ----------------------------------------------------------------------------------
# Hardened runtime (--options runtime) and a secure timestamp: notarization requires both.
# No entitlements: CPython 3.12 does not JIT, Qt Widgets runs no JavaScript or QML, and paramiko's
# crypto is compiled code, so nothing needs writable-and-executable memory; every library in
# the bundle carries the same Team ID, so library validation passes; and the keychain needs no
# entitlement outside the App Store sandbox. The self-test below runs the signed app and
# proves it (Qt, the keychain, ed25519, AES-GCM).
sign() {
	codesign --force --timestamp --options runtime --sign "$TUNNELKEEPER_SIGN_IDENTITY" "$@"
}

SIGNED=no
if [ -n "${TUNNELKEEPER_SIGN_IDENTITY:-}" ]; then
	say "signing $APP as $TUNNELKEEPER_SIGN_IDENTITY"
	# extended attributes (quarantine, Finder info) make codesign refuse a bundle
	xattr -cr "$APP"
	# Inside out, instead of --deep (which Apple advises against for signing): every nested
	# binary, then each framework bundle (deepest first), then the app, which signs its main
	# executable and seals everything else as resources.
	find "$APP/Contents" -type f ! -path "$MAIN" -print0 |
		while IFS= read -r -d '' file; do
			case $(file -b "$file") in *Mach-O*) sign "$file" ;; esac
		done
	find "$APP/Contents" -depth -type d -name '*.framework' -print0 |
		while IFS= read -r -d '' framework; do sign "$framework"; done
	sign "$APP"
	codesign --verify --strict --deep --verbose=2 "$APP"
	SIGNED=yes
else
	say "unsigned: set TUNNELKEEPER_SIGN_IDENTITY to a Developer ID Application identity to sign and notarize"
fi

# --- smoke test (after signing, so the hardened runtime is what runs) ----------------------
reported=$("$MAIN" --version)
[ "$reported" = "tunnelkeeper $VERSION" ] ||
	die "$MAIN --version says '$reported', expected 'tunnelkeeper $VERSION'"
QT_QPA_PLATFORM=offscreen "$MAIN" --self-test

# --- notarize ------------------------------------------------------------------------------
NOTARIZE=no
if [ -n "${TUNNELKEEPER_NOTARY_PROFILE:-}" ]; then
	NOTARIZE=yes
	set -- --keychain-profile "$TUNNELKEEPER_NOTARY_PROFILE"
elif [ -n "${TUNNELKEEPER_NOTARY_APPLE_ID:-}" ] && [ -n "${TUNNELKEEPER_NOTARY_TEAM_ID:-}" ] &&
	[ -n "${TUNNELKEEPER_NOTARY_PASSWORD:-}" ]; then
	NOTARIZE=yes
	set -- --apple-id "$TUNNELKEEPER_NOTARY_APPLE_ID" --team-id "$TUNNELKEEPER_NOTARY_TEAM_ID" \
		--password "$TUNNELKEEPER_NOTARY_PASSWORD"
fi
# The positional parameters now hold the notary credentials (an array that bash 3.2 can
# expand safely under set -u); they are never printed.
if [ "$NOTARIZE" = yes ] && [ "$SIGNED" = no ]; then
	say "not notarizing: Apple notarizes only signed code (set TUNNELKEEPER_SIGN_IDENTITY)"
	NOTARIZE=no
elif [ "$NOTARIZE" = no ]; then
	say "not notarized: set TUNNELKEEPER_NOTARY_PROFILE (or TUNNELKEEPER_NOTARY_APPLE_ID, _TEAM_ID and _PASSWORD) to notarize"
fi

# Submits a file and waits; fails unless Apple accepted it. notarytool exits 0 for a rejected
# submission too, so the verdict is read from its JSON answer.
notarize() {
	local target=$1 answer verdict id status
	shift
	say "notarizing $target"
	answer=$(xcrun notarytool submit "$target" "$@" --wait --output-format json)
	verdict=$(printf '%s\n' "$answer" | "$PY" -c '
import json, sys
lines = [line for line in sys.stdin.read().splitlines() if line.lstrip().startswith("{")]
answer = json.loads(lines[-1]) if lines else {}
print(answer.get("id", "-"), answer.get("status", "no answer"))
')
	id=${verdict%% *}
	status=${verdict#* }
	if [ "$status" != Accepted ]; then
		[ "$id" = - ] || xcrun notarytool log "$id" "$@" >&2 || true
		die "notarization of $target ended '$status'"
	fi
}

if [ "$NOTARIZE" = yes ]; then
	# The app itself is notarized and stapled too, not only the disk image: a copy dragged to
	# /Applications then opens without Gatekeeper asking Apple's servers, which a firewalled
	# office network may block.
	ditto -c -k --keepParent "$APP" "$WORK/Tunnelkeeper.zip"
	notarize "$WORK/Tunnelkeeper.zip" "$@"
	xcrun stapler staple "$APP"
	xcrun stapler validate "$APP"
	spctl --assess --type execute --verbose=2 "$APP"
fi

# --- the disk image ------------------------------------------------------------------------
say "making $DMG"
mkdir "$WORK/image"
ditto "$APP" "$WORK/image/Tunnelkeeper.app"
ln -s /Applications "$WORK/image/Applications"
rm -f "$DMG"
# hdiutil now and then fails with "Resource busy" on CI machines (a scanner still holds the new
# image), so it gets three tries.
for attempt in 1 2 3; do
	if hdiutil create -volname Tunnelkeeper -srcfolder "$WORK/image" -fs HFS+ -format UDZO \
		-imagekey zlib-level=9 -ov "$DMG"; then
		break
	fi
	[ "$attempt" -lt 3 ] || die "hdiutil could not create $DMG"
	sleep 10
done

if [ "$SIGNED" = yes ]; then
	codesign --force --timestamp --sign "$TUNNELKEEPER_SIGN_IDENTITY" "$DMG"
	codesign --verify --verbose=2 "$DMG"
fi
if [ "$NOTARIZE" = yes ]; then
	notarize "$DMG" "$@"
	xcrun stapler staple "$DMG"
	xcrun stapler validate "$DMG"
	spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG"
fi

say "built $DMG"
shasum -a 256 "$DMG"
