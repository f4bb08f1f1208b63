"""The README's "Operating it" table documents every option of the commands it lists."""

import re
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
DOCUMENTED = ("setup_demo", "train_recommender", "evaluate_recommenders", "export_recommendations")


def options(name: str) -> set[str]:
    """The long options a command adds to Django's own (--verbosity, --settings, ...)."""
    own = {
        s for a in BaseCommand().create_parser("manage.py", "x")._actions for s in a.option_strings
    }
    parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
    return {
        s for a in parser._actions for s in a.option_strings if s.startswith("--") and s not in own
    }


def table_row(name: str) -> str:
    section = README.split("\n## Operating it\n", 1)[1].split("\n## ", 1)[0]
    (row,) = re.findall(rf"^\| `{name}\b.*$", section, re.M)
    return row


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_option_is_in_the_readme_table(name):
    row = table_row(name)
    assert options(name), name
    missing = sorted(o for o in options(name) if not re.search(rf"`[^`]*{o}\b", row))
    assert not missing, f"{name}: {missing} not in the README's table"
