"""The wizard's draft keeps a proxy the paste named, and an edited tunnel's own proxy."""

from __future__ import annotations

from app.core.paste import parse_paste
from app.core.profile import profile_from_dict
from app.services.api import Services
from app.storage.paths import AppPaths
from app.ui.wizard.draft import Draft
from tests.app.ui.conftest import no_keychain

PASTE = (
    "ssh -N -R 15432:127.0.0.1:5432 "
    "-o 'ProxyCommand nc -X connect -x 10.0.0.5:3128 %h %p' acme@vendor.example"
)


def test_a_pasted_proxy_goes_into_the_profile(tk_home: AppPaths) -> None:
    draft = Draft(tk_home, Services(tk_home, no_keychain))
    draft.pasted = dict(parse_paste(PASTE).fields)
    assert draft.fields()["proxy"] == "http://10.0.0.5:3128"


def test_an_edited_tunnel_keeps_its_proxy(tk_home: AppPaths) -> None:
    editing = profile_from_dict(
        "db",
        {
            "jumphost": "vendor.example",
            "user": "acme",
            "remote_port": 15432,
            "target_host": "127.0.0.1",
            "target_port": 5432,
            "key_path": "/k",
            "proxy": "socks5h://bob@10.0.0.5:1080",
        },
    )
    draft = Draft(tk_home, Services(tk_home, no_keychain), editing=editing)
    draft.as_saved()
    assert draft.profile("db").proxy == "socks5h://bob@10.0.0.5:1080"
