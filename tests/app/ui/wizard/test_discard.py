"""The words Cancel uses for the keys a run wrote: new keys, copies of the person's own."""

from __future__ import annotations

from pathlib import Path

from app.ssh.keys import KeyFiles
from app.ui.wizard.discard import discard_question


def files(name: str) -> KeyFiles:
    return KeyFiles(Path("/keys") / name)


def test_a_new_key_is_a_key_this_setup_created() -> None:
    question = discard_question([files("tunnel")], {})
    assert question.title == "Keep the new key?"
    assert question.text.startswith("This setup created a key that no tunnel uses yet.")
    assert question.details.startswith("/keys/tunnel\n\nKeep it if you already pasted")
    assert (question.delete, question.keep) == ("&Delete key", "&Keep key")


def test_two_new_keys_are_spoken_of_in_the_plural() -> None:
    question = discard_question([files("a"), files("b")], {})
    assert question.title == "Keep the new keys?"
    assert "/keys/a, /keys/b" in question.details and "Keep them" in question.details
    assert question.delete == "&Delete keys"


def test_a_copy_is_never_called_created_and_its_original_is_said_to_stay() -> None:
    question = discard_question([files("tunnel")], {"/keys/tunnel": "/home/me/.ssh/id"})
    words = " ".join([question.title, question.text, question.details])
    assert "created" not in words
    assert "a copy of your key" in question.text
    assert "/keys/tunnel\n(a copy of /home/me/.ssh/id)" in question.details
    assert "Your own key file stays where it is either way" in question.details
    assert (question.delete, question.keep) == ("&Delete copy", "&Keep copy")


def test_a_new_key_and_a_copy_together() -> None:
    question = discard_question(
        [files("tunnel"), files("tunnel-2")], {"/keys/tunnel-2": "/home/me/.ssh/id"}
    )
    assert question.text.startswith("This setup created a new key and made a copy of your key")
    assert "/keys/tunnel-2\n(a copy of /home/me/.ssh/id)" in question.details
    assert "/keys/tunnel\n(a new key)" in question.details
    assert question.delete == "&Delete them"
