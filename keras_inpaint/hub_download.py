"""Hugging Face Hub downloads: ``hf://org/name[@revision]`` handles, the cache and offline mode."""

from __future__ import annotations

import os

from keras_inpaint.errors import PresetError

HF_SCHEME = "hf://"


def parse_handle(handle: str, revision: str | None = None) -> tuple[str, str | None]:
    """Split ``hf://org/name[@revision]`` into (repo_id, revision)."""
    if not handle.startswith(HF_SCHEME):
        raise PresetError(f"a Hugging Face handle starts with 'hf://'; got {handle!r}.")
    repo_id = handle[len(HF_SCHEME):]
    if "@" in repo_id:
        repo_id, pinned = repo_id.split("@", 1)
        if revision is not None and revision != pinned:
            raise PresetError(f"{handle!r} pins revision {pinned!r} but revision={revision!r} was also given.")
        revision = pinned
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PresetError(f"a Hugging Face handle has the form 'hf://org/name'; got {handle!r}.")
    return repo_id, revision


def download_preset(handle: str, revision: str | None = None) -> str:
    """Download (or find in the Hugging Face cache) a preset repo; return its local directory."""
    import huggingface_hub
    from huggingface_hub import errors

    repo_id, revision = parse_handle(handle, revision)
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")
    try:
        return huggingface_hub.snapshot_download(repo_id, revision=revision, local_files_only=offline)
    except errors.LocalEntryNotFoundError as e:
        where = f"revision {revision!r} of " if revision else ""
        raise PresetError(
            f"{where}{repo_id!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is set; "
            "download it once with network access, or unset HF_HUB_OFFLINE."
            if offline
            else f"could not download {where}{repo_id!r} from the Hugging Face Hub: {first_line(e)}"
        ) from e
    except errors.GatedRepoError as e:
        raise PresetError(f"{repo_id!r} is gated: accept its terms on the Hub and pass a token.") from e
    except errors.RepositoryNotFoundError as e:
        raise PresetError(
            f"Hugging Face repo {repo_id!r} does not exist, or it is private and no valid token was given "
            "(set HF_TOKEN or run `hf auth login`)."
        ) from e
    except errors.RevisionNotFoundError as e:
        raise PresetError(f"{repo_id!r} has no revision {revision!r}.") from e


def first_line(error: BaseException) -> str:
    """An exception's message cut to its first line (the Hub's errors carry request details after it)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
