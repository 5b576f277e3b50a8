# Tunnelkeeper: `make run` launches the app, `make test` runs every check CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run gui-prereqs demo screenshots test bench dist dist-prereqs lint typecheck pytest prereqs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: gui-prereqs
	$(BIN)/tunnelkeeper $(ARGS)

# The X11 libraries Qt's xcb platform plugin loads (Linux + apt only; installed when missing).
QT_XCB_DEBS := libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 \
	libxkbcommon0 libegl1 libgl1 libfontconfig1 libdbus-1-3
gui-prereqs: $(STAMP)
	@plugin=$$($(BIN)/python -c 'import PySide6, pathlib; print(pathlib.Path(PySide6.__file__).parent / "Qt/plugins/platforms/libqxcb.so")'); \
	if [ "$$(uname)" = Linux ] && [ -f "$$plugin" ] && ldd "$$plugin" | grep -q "not found" && command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "installing the X11 libraries Qt needs"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(QT_XCB_DEBS); \
	fi

# The whole flow against a local jumphost and target, no vendor account needed.
demo: prereqs gui-prereqs
	$(BIN)/python demo/run.py $(DEMO_ARGS)

# System packages the test suite drives for real (installed only when missing).
prereqs:
	@missing=""; \
	command -v /usr/sbin/sshd >/dev/null 2>&1 || missing="$$missing openssh-server"; \
	command -v ssh-keygen >/dev/null 2>&1 || missing="$$missing openssh-client"; \
	command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing="$$missing mariadb-server"; \
	command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || missing="$$missing iptables"; \
	command -v dbus-daemon >/dev/null 2>&1 || missing="$$missing dbus-daemon"; \
	command -v gnome-keyring-daemon >/dev/null 2>&1 || missing="$$missing gnome-keyring"; \
	command -v secret-tool >/dev/null 2>&1 || missing="$$missing libsecret-tools"; \
	command -v readelf >/dev/null 2>&1 || missing="$$missing binutils"; \
	command -v systemd-analyze >/dev/null 2>&1 || missing="$$missing systemd"; \
	[ -x /usr/sbin/squid ] || missing="$$missing squid"; \
	[ -x /usr/sbin/danted ] || missing="$$missing dante-server"; \
	$(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    echo "installing:$$missing"; \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "please install:$$missing" >&2; exit 1; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy app

pytest: $(STAMP) prereqs
	$(BIN)/pytest

test: prereqs $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app
	$(BIN)/pytest

# Tunnelkeeper vs OpenSSH ssh -R (its defaults and the same cipher) on one loopback sshd
# (35-40 minutes; not part of test; docs/benchmarks.md says how to run a short check).
bench: prereqs $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The frozen app and this OS's packages, in dist/ (Linux: .deb and .tar.gz; Windows and
# macOS have build/windows/build.ps1 and build/macos/package.sh). PyInstaller's work
# files go to .pyinstaller/, never build/ (our scripts).
dist: dist-prereqs $(STAMP)
	rm -rf dist/tunnelkeeper
	$(BIN)/python -m PyInstaller --noconfirm --clean --log-level WARN \
	  --workpath .pyinstaller/work --distpath dist pyinstaller.spec
	@if [ "$$(uname)" = Linux ]; then $(BIN)/python build/linux/package.py dist/tunnelkeeper --out dist; fi

# strip/readelf (binutils) and dpkg-deb, which the Linux build uses.
dist-prereqs:
	@if [ "$$(uname)" = Linux ] && ! { command -v readelf && command -v strip && command -v dpkg-deb; } >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils dpkg; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info .pyinstaller dist

# PNGs of every wizard page, the status window and the tray menu (Xvfb + trayer), at 100%
# and 200%, into docs/screenshots/.
screenshots: prereqs gui-prereqs
	@command -v Xvfb >/dev/null 2>&1 && command -v trayer >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xvfb trayer openbox; }
	$(BIN)/python demo/screenshots.py
