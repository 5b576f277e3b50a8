"""A deterministic corpus of malformed pastes: each must give a PasteResult or a PasteError."""

from __future__ import annotations

import random

SEED_COMMAND = (
    "ssh -NR 58115:localhost:3306 sshtunnel@virginia-tunnel.flydata.app "
    "-i ~/.ssh/integrateio_reverse -p 50683 -o ExitOnForwardFailure=yes "
    "-o ServerAliveInterval=10 -o ServerAliveCountMax=1 -v"
)
SLOT_TEMPLATE = "ssh -NR {rport}:{thost}:{tport} sshtunnel@{jump} -p {sport} -i ~/.ssh/k"

EMPTY = ("", " ", "\n\n\n", "\t", "\x00", "\ufeff", "\u00a0", "\u200b", "\r\n", "\u2028")
UNBALANCED_QUOTES = (
    'ssh -o "ExitOnForwardFailure yes -R 1:h:2 u@h',
    "ssh -i '~/.ssh/key u@h -R 1:h:2",
    'SSH_HOST="tunnel.stitchdata.com',
    "SSH_USER='stitch",
    'Host x\n  IdentityFile "~/a',
    'ssh -R 1:h:2 u@h -o "',
    "ssh -R 1:h:2 u@h '",
    "ssh \\",
    'autossh -M 0 -R "58115:localhost:3306 u@h',
    "ssh -NR 58115:localhost:3306 sshtunnel@h \u201cExitOnForwardFailure yes",
    "ssh -R 1:h:2 u@h -o \u2018StrictHostKeyChecking=no",
    "ssh-keyscan -p '22 h",
    'Tunnel Endpoint: "h.example:1',
    'ExecStart=/usr/bin/autossh -M 0 -R "1:h:2 u@h',
)
HUGE_NUMBERS = (
    "ssh -R 99999999999999999999999999999:h:1 u@h",
    "ssh -p 1" + "0" * 5000 + " u@h",
    "TUNNEL_PORT=" + "9" * 10000,
    "h.example:" + "9" * 20,
    "ssh -R 1:h:" + "1" * 4400 + " u@h",
    "ssh -o ServerAliveInterval=" + "9" * 5000 + " u@h",
    "ssh -o ServerAliveCountMax=" + "9" * 5000 + " u@h",
    "ssh -o ServerAliveInterval=99999999999999999999w u@h",
    "Host x\n  Port " + "7" * 300,
)
BINARY = (
    bytes(range(256)).decode("latin-1"),
    "\x00ssh\x00-R\x001:h:2\x00u@h",
    "ssh -R 1:h:2 u@h\x00",
    "\x1b[31mssh\x1b[0m -R 1:h:2 u@h",
    "ssh -i ~/.ssh/k\x07ey -R 1:h:2 u@h",
    "ssh -R 1:h:2 u@h\x08\x08\x08",
    "\ud800ssh -R 1:h:2 u@h",
    "ssh -R 1:h:2 \udfff@h",
    "\x7f" * 100,
    "\xff\xfe\x00s\x00s\x00h",
)
ONLY_PLACEHOLDERS = (
    "<allocated_port>",
    "<jumphost>:<port>",
    "$HOST $PORT",
    "${USER}@${HOST}",
    "%PORT%",
    "ssh <args>",
    "ssh -R <a>:<b>:<c> <d>@<e> -p <f> -i <g>",
    "ssh -R ${A}:${B}:${C} ${D}",
    "{{jumphost}}:{{port}}",
    "YOUR_HOST:YOUR_PORT",
    "ssh -R xxxxx:xxx:xxxx user@xxx.xxx.xxx.xxx",
    "ssh -R ...:...:... ...",
    "SSH_HOST=<host>\nSSH_PORT=<port>",
    "Host <alias>\n  HostName <jumphost>",
)
RANDOM_FLAGS = (
    "ssh -Z",
    "ssh -%",
    "ssh --help",
    "ssh -RRRR",
    "ssh -pppp",
    "ssh -",
    "ssh - -",
    "ssh -oo",
    "ssh -o",
    "ssh -o =",
    "ssh -o Foo",
    "ssh -o =yes",
    "ssh -o ' '",
    "autossh -M",
    "autossh -M 0 -Q",
    "ssh-keyscan -Z h",
    "ssh-keyscan -p",
    "ssh-keyscan -p x70000 h",
    "ssh -F",
    "ssh -i",
    "ssh -l",
    "ssh -\u00e9 h",
    "ssh -R 1:h:2 u@h -\u2603",
    "ssh -NfRL",
    "ssh -vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",
    "ssh -o Foo=bar -o Baz=qux h",
)
FORWARD_PARTS = (
    "ssh -R",
    "ssh -R :",
    "ssh -R ::",
    "ssh -R :::",
    "ssh -R ::::",
    "ssh -R 5000",
    "ssh -R 5000:",
    "ssh -R 5000:h",
    "ssh -R 5000:h:",
    "ssh -R :h:1",
    "ssh -R 5000::1",
    "ssh -R ::5000:h:1",
    "ssh -R a:b:c:d:e",
    "ssh -R [",
    "ssh -R ]",
    "ssh -R [::1]",
    "ssh -R [::1]:",
    "ssh -R 5000:[::1]",
    "ssh -R 5000/h",
    "ssh -R //",
    "ssh -R 5000:h:1:2:3",
    "ssh -R <a:b>",
    "ssh -R {:}",
    "ssh -R ]]]:[[[",
    "ssh -R 5000:h:1 -R",
    "Host x\n  RemoteForward",
    "Host x\n  RemoteForward 5000",
    "Host x\n  RemoteForward 5000 localhost",
    "Host x\n  RemoteForward [::1] localhost:1",
)
BAD_IPV6 = (
    "ssh -R 5000:[::g]:1 u@h",
    "ssh -R 5000:[:::1]:1 u@h",
    "ssh -R [1::2::3]:5000:h:1 u@h",
    "[::1:12345",
    "[fe80::1%]:22",
    "[fe80::1%eth 0]:22",
    "ssh u@[::1",
    "ssh -R 5000:[2001:db8::5:5432 u@h",
    "[2001:db8::1]12345",
    "[]:1",
    "[127.0.0.1]:22",
    "ssh -R 5000:[127.0.0.1]:1 u@h",
    "ssh -R 5000:2001:db8::5:5432 u@h",
    "ssh u@2001:db8:::1 -R 1:h:2",
    "ssh ssh://[::1",
    "ssh ssh://u@[zz::1]:22",
)
HOMOGLYPHS = (
    "\u0455\u0455h -R 1:h:2 u@h",
    "ssh -R 5000:l\u043e\u0441alhost:3306 u@h",
    "ssh \u2212R 1:h:2 u@h",
    "ssh -R \uff15\uff10\uff10\uff10:h:1 u@h",
    "ssh -R 5000:h:\u0661 u@h",
    "ssh -p \uff12\uff12 u@h",
    "ssh u@virginia\u2010tunnel.flydata.app -R 1:h:2",
    "SSH_HOST=tunn\u0435l.stitchdata.com",
    "ssh \u2010R 1:h:2 u@h",
    "ssh -R 1:h:2 \u0455shtunnel@h",
    "ssh -R 1:h:2 u@v\u0456rginia-tunnel.flydata.app",
    "\uff53\uff53\uff48 -R 1:h:2 u@h",
    "ssh -R 1:\u0127:2 u@h",
    "H\u043est x\n  HostName h",
    "ssh -\u0420 22 u@h",
)
BROKEN_CONFIG = (
    "Host",
    "Host ",
    "Host x\n Port",
    "Host x\n Port 0",
    "Host x\n Port 22 23",
    "HostName",
    "HostName [",
    "Host x\n ServerAliveInterval -1",
    "Host x\n ServerAliveCountMax 1000",
    "Match",
    "Match all\n  User x",
    "Host x\nHost y\nHost z",
    "Host *\n  StrictHostKeyChecking",
    "Host x\n  User -root",
    "Host x\n  IdentityFile",
    "Host x\n  IdentityFile ''",
    "Host x\n  HostName a b c",
    "Host x\n  Include ~/.ssh/other\n  ProxyJump",
    "host=\n hostname=",
)
BROKEN_ASSIGNMENTS = (
    "SSH_HOST=",
    "SSH_PORT=12x",
    "SSH_PORT=-1",
    "SSH_USER=-root",
    "TUNNEL_PORT=0",
    "SSH_KEY=-----BEGIN OPENSSH PRIVATE KEY-----",
    "SSH Host:",
    "SSH_HOST=a b c",
    "export",
    "export SSH_HOST",
    "SSH_HOST==h",
    "SSH_HOST:=h",
    "$env:SSH_PORT = 'abc'",
    "set SSH_PORT=99999",
    '"ssh_port": "22",,,',
    "SSH_HOST=h_with_underscore.example",
    "REMOTE_BIND=   ",
    "KEEPALIVE_INTERVAL=forever",
)
CONTINUATIONS = (
    "ssh \\",
    "ssh `",
    "ssh ^",
    "\\\n\\\n\\",
    "ssh -R 1:h:2 \\\n",
    "`\n`\n`",
    "ssh -R \\\n5000:h:1 \\\n u@h \\",
    "ssh -R 1:h:2 `\n>> `\n>> `",
    "\\\\\\\\",
    "ssh -R 1:h:2 u@h \\\\\n-p 0",
)
PROMPTS = (
    "$",
    "$ ",
    "PS C:\\>",
    "PS C:\\> ",
    "C:\\>",
    "# ",
    "user@host:~$ ",
    "PS>",
    "[me@box ~]$",
    "(venv) $ ",
    "PS C:\\Users\\me> ssh",
    "$ $ $ $ ssh -R",
)
PATHOLOGICAL = (
    "[" * 5000,
    "<" * 5000,
    "ssh " + "-v " * 3000,
    "Host " + " " * 5000 + "x",
    "a" * 20000 + ":1",
    "ssh -R " + ":" * 5000,
    "ssh -R " + "[" * 5000,
    "$" * 5000,
    "%" * 5000,
    "{" * 3000 + "}" * 3000,
    "\\" * 5000,
    "`" * 5000,
    "'" * 5001,
    '"' * 5001,
    "ssh " + "'a' " * 2000 + "'",
    "PS " + " " * 5000 + ">",
    "C:\\" + " a" * 5000,
    "x@" * 5000 + "$ ",
    "SSH_HOST" + " " * 5000 + "= h",
    "ssh -o " + "a" * 5000 + "=" + " " * 5000,
    "ssh -R " + "0" * 5000 + ":h:1 u@h",
    "ssh -o ServerAliveInterval=" + "1s" * 3000,
    "\n".join(["Host x"] * 2000),
    "ssh -R 1:h:2 " + "u@" * 2000 + "h",
)
ODDITIES = (
    "ssh -R 1:h:2 u@h -i ''",
    "ssh -i '' u@h",
    "ssh -l '' h",
    "ssh '' -R 1:h:2",
    "ssh -R 1:h:2 @",
    "ssh -R 1:h:2 u@",
    "ssh ssh://",
    "ssh ssh://u@:22",
    "ssh ssh://h:99999",
    "ssh -o ServerAliveInterval=abc h",
    "ssh -o ServerAliveCountMax=0 h",
    "ssh -o ServerAliveInterval=1y h",
    "ExecStart=",
    "ExecStart=/usr/bin/autossh",
    "@reboot",
    "* * * * *",
    "sudo ssh",
    "ssh-keyscan",
    "ssh-keyscan h1 h2 h3",
    "ssh-keyscan -p 22",
    "ssh -R 1:h:2 -- ",
    "ssh -- -R 1:h:2",
    "ssh -R 1:h:2 u@h | | |",
    "ssh -R 1:h:2 u@h >",
    "ssh -R 1:h:2 u@h 2>",
    "ssh -R 1:h:2 u@h &&",
    "ssh -R 1:h:2;",
    "ssh ; ssh ; ssh",
    "12:30",
    "1.2:3",
    "localhost:0",
    "h.example:65536",
    "Tunnel Endpoint: nope",
    "Tunnel Endpoint: h.example",
    "ssh -R 1:h:2 u@h -o RemoteForward=",
    "ssh -R 0:h:2 u@h",
    "ssh -R 1:h:0 u@h",
    "ssh -R -1:h:2 u@h",
    "ssh -R 1:-h:2 u@h",
    "ssh -R 1:h.:2 u@h",
    "ssh -R 1:.h:2 u@h",
    "ssh -R 1:h..example:2 u@h",
    "ssh -R 1:" + "a" * 64 + ".example:2 u@h",
    "ssh -R 1:h:2 u@" + "a." * 200 + "example",
    "ssh -R 1:h:2 " + "u" * 65 + "@h",
    "ssh -i ~/.ssh/\u0000k -R 1:h:2 u@h",
    "autossh -M 0 -f -N -R",
    "AUTOSSH_GATETIME=0",
    "AUTOSSH_GATETIME=0 autossh",
    "nohup",
    "ssh -R 1:h:2 u@h -o StrictHostKeyChecking",
    "ssh -J",
    "ssh -L",
    "ssh -D",
    "ssh -W",
)
BAD_PORTS = (
    "0",
    "65536",
    "70000",
    "99999999999999999999",
    "-1",
    "+22",
    "1e3",
    "0x50",
    "\u0663\u0663\u0660\u0666",
    "\uff13\uff13\uff10\uff16",
    "22.0",
    "",
    "5O00",
    "5_000",
    "22 ",
)
BAD_HOSTS = (
    "v\u0456rginia-tunnel.flydata.app",
    "virginia_tunnel.flydata.app",
    "-flydata.app",
    "a..b",
    "[::1",
    "::1]",
    "[zz::1]",
    "[127.0.0.1]",
    "1.2.3.999",
    "ex ample",
    "ex\u00e4mple.com",
    "",
    "a" * 64 + ".com",
    "host:22",
    "\uff46\uff4c\uff59.app",
)
FRAGMENTS = (
    "ssh",
    "autossh",
    "ssh-keyscan",
    "-R",
    "-p",
    "-i",
    "-o",
    "-l",
    "-NR",
    "-L",
    "-M",
    "--",
    ":",
    "[",
    "]",
    "<",
    ">",
    "'",
    '"',
    "\\",
    "`",
    "$",
    "%",
    "=",
    "@",
    "h",
    "5000",
    "70000",
    "*",
    "Host",
    "HostName",
    "RemoteForward",
    "SSH_HOST=",
    "\n",
    "\n  ",
    "\x00",
    "\u00a0",
    "\u201c",
    "#",
    "|",
    "PS C:\\>",
    "$ ",
    "\u0456",
)


def _token_mutations(command: str) -> list[str]:
    """Delete, break, duplicate or corrupt each word of a good command in turn."""
    words = command.split(" ")
    out: list[str] = []
    for index, word in enumerate(words):
        for replacement in ([], ["'"], ['"' + word], [word, word], ["-Q"], [word + "\\"]):
            out.append(" ".join([*words[:index], *replacement, *words[index + 1 :]]))
    return out


def _truncations(command: str) -> list[str]:
    return [command[:end] for end in range(0, len(command), 9)]


def _slot_mutations() -> list[str]:
    good = {"rport": "58115", "thost": "localhost", "tport": "3306", "jump": "h.example"}
    out: list[str] = []
    for bad in BAD_PORTS:
        for slot in ("rport", "tport", "sport"):
            out.append(SLOT_TEMPLATE.format(**{**good, "sport": "22", slot: bad}))
    for bad in BAD_HOSTS:
        for slot in ("thost", "jump"):
            out.append(SLOT_TEMPLATE.format(**{**good, "sport": "22", slot: bad}))
    return out


def _random_junk(rnd: random.Random) -> list[str]:
    out: list[str] = []
    for _ in range(40):
        out.append(
            bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300))).decode("latin-1")
        )
    for _ in range(40):
        length = rnd.randrange(1, 200)
        out.append(
            "".join(
                chr(rnd.choice((rnd.randrange(32, 0xD800), rnd.randrange(0xE000, 0x110000))))
                for _ in range(length)
            )
        )
    for _ in range(80):
        pieces = [rnd.choice(FRAGMENTS) for _ in range(rnd.randrange(1, 25))]
        out.append(rnd.choice(("", " ")).join(pieces))
    return out


def malformed_inputs() -> list[str]:
    """Every malformed input, in a fixed order, without duplicates."""
    corpus = [
        *EMPTY,
        *UNBALANCED_QUOTES,
        *HUGE_NUMBERS,
        *BINARY,
        *ONLY_PLACEHOLDERS,
        *RANDOM_FLAGS,
        *FORWARD_PARTS,
        *BAD_IPV6,
        *HOMOGLYPHS,
        *BROKEN_CONFIG,
        *BROKEN_ASSIGNMENTS,
        *CONTINUATIONS,
        *PROMPTS,
        *PATHOLOGICAL,
        *ODDITIES,
        *_slot_mutations(),
        *_token_mutations(SEED_COMMAND),
        *_truncations(SEED_COMMAND),
        *_random_junk(random.Random(20261122)),
    ]
    return list(dict.fromkeys(corpus))
