"""Tests for `make publish`, which pushes a built HTML folder to a git branch.

Each test copies the Makefile into a new git repository under tmp_path and publishes
to a bare repository there, because ghp-import also writes the branch into the
repository it runs in. The project's own repository is never touched.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def find_ghp_import() -> Path:
    """Return the ghp-import script of the Python environment running the tests."""
    beside_python = Path(sys.executable).parent / "ghp-import"
    if beside_python.is_file():
        return beside_python
    on_path = shutil.which("ghp-import")
    if on_path is None:
        pytest.fail(
            "ghp-import not found beside the Python running pytest or on PATH; "
            "install requirements.txt, for example with `make venv`"
        )
    return Path(on_path)


@pytest.fixture
def git_env() -> dict[str, str]:
    """Environment for git and make that ignores the user's git and make settings."""
    env = dict(os.environ)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="srlib tests",
        GIT_AUTHOR_EMAIL="tests@srlib.invalid",
        GIT_COMMITTER_NAME="srlib tests",
        GIT_COMMITTER_EMAIL="tests@srlib.invalid",
    )
    return env


def run(
    command: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def run_checked(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = run(command, cwd, env)
    assert result.returncode == 0, (
        f"{' '.join(command)} failed with status {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result.stdout


@pytest.fixture
def project(tmp_path: Path, git_env: dict[str, str]) -> Path:
    """A git repository with one commit that contains a copy of the Makefile."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO_ROOT / "Makefile", project / "Makefile")
    run_checked(["git", "init", "--quiet", "--initial-branch=main"], project, git_env)
    run_checked(["git", "add", "Makefile"], project, git_env)
    run_checked(["git", "commit", "--quiet", "-m", "Add Makefile"], project, git_env)
    return project


@pytest.fixture
def remote(tmp_path: Path, git_env: dict[str, str]) -> Path:
    remote = tmp_path / "remote.git"
    run_checked(["git", "init", "--quiet", "--bare", str(remote)], tmp_path, git_env)
    return remote


def write_site(root: Path, title: str) -> Path:
    """Write a small HTML folder with a page in a subfolder, as a book build has."""
    (root / "notebooks").mkdir(parents=True)
    (root / "index.html").write_text(f"<html><title>{title}</title></html>\n")
    (root / "notebooks" / "page.html").write_text("<html>page</html>\n")
    return root


def make_publish(
    project: Path, env: dict[str, str], *variables: str
) -> subprocess.CompletedProcess[str]:
    command = ["make", "--no-print-directory", "publish", *variables]
    return run(command, project, env)


def list_branch(remote: Path, branch: str, env: dict[str, str]) -> set[str]:
    command = ["git", f"--git-dir={remote}", "ls-tree", "-r", "--name-only", branch]
    return set(run_checked(command, remote, env).split())


def test_publish_pushes_html_to_gh_pages(project, remote, git_env, tmp_path):
    site = write_site(tmp_path / "html", "first build")

    result = make_publish(
        project,
        git_env,
        f"REMOTE={remote}",
        f"HTML_DIR={site}",
        f"GHP_IMPORT={find_ghp_import()}",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    branches = run_checked(["git", f"--git-dir={remote}", "branch"], remote, git_env)
    assert "gh-pages" in branches.split()
    files = list_branch(remote, "gh-pages", git_env)
    assert "index.html" in files
    assert "notebooks/page.html" in files
    assert ".nojekyll" in files
    index = run_checked(
        ["git", f"--git-dir={remote}", "show", "gh-pages:index.html"], remote, git_env
    )
    assert "first build" in index


def test_publish_again_adds_commit(project, remote, git_env, tmp_path):
    ghp_import = f"GHP_IMPORT={find_ghp_import()}"
    first = write_site(tmp_path / "first", "first build")
    second = write_site(tmp_path / "second", "second build")

    for site in (first, second):
        result = make_publish(
            project, git_env, f"REMOTE={remote}", f"HTML_DIR={site}", ghp_import
        )
        assert result.returncode == 0, result.stdout + result.stderr

    count = run_checked(
        ["git", f"--git-dir={remote}", "rev-list", "--count", "gh-pages"],
        remote,
        git_env,
    )
    assert count.strip() == "2"
    index = run_checked(
        ["git", f"--git-dir={remote}", "show", "gh-pages:index.html"], remote, git_env
    )
    assert "second build" in index


def test_publish_to_named_branch(project, remote, git_env, tmp_path):
    site = write_site(tmp_path / "html", "named branch")

    result = make_publish(
        project,
        git_env,
        f"REMOTE={remote}",
        "BRANCH=site",
        f"HTML_DIR={site}",
        f"GHP_IMPORT={find_ghp_import()}",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "index.html" in list_branch(remote, "site", git_env)
    branches = run_checked(["git", f"--git-dir={remote}", "branch"], remote, git_env)
    assert "gh-pages" not in branches.split()


def test_publish_without_remote_fails(project, git_env, tmp_path):
    site = write_site(tmp_path / "html", "no remote")

    result = make_publish(
        project, git_env, f"HTML_DIR={site}", f"GHP_IMPORT={find_ghp_import()}"
    )

    assert result.returncode != 0
    assert "REMOTE is not set" in result.stderr


def test_publish_without_html_fails(project, remote, git_env, tmp_path):
    result = make_publish(
        project,
        git_env,
        f"REMOTE={remote}",
        f"HTML_DIR={tmp_path / 'missing'}",
        f"GHP_IMPORT={find_ghp_import()}",
    )

    assert result.returncode != 0
    assert "index.html not found" in result.stderr
