"""A build that makes bytes a corrupt blob file should hold repairs the file instead of trusting it.

A put that finds a file of the right size used to count it as stored. Since downstream jobs of the same
run take the texts from memory, nothing would then have read the corrupt file, and the build would
commit a manifest naming it.
"""

from __future__ import annotations

from tests.e2e.build_helpers import MovieCli, define_image_audio, narrator

M = "demo"
SCRIPT_TEXT = "Artifact:Script.NarrationScript[0]"


def test_a_build_rewriting_a_corrupt_text_blob_repairs_it(cli: MovieCli) -> None:
    define_image_audio(cli, M, 2)
    cli.ok("build", "run", "--movie", M)
    digest = cli.manifest(M)["artefacts"][SCRIPT_TEXT]["hash"]
    [blob] = (cli.movie_dir(M) / "blobs" / digest[:2]).glob(f"{digest}.*")
    original = blob.read_bytes()
    blob.write_bytes(original.replace(b"e", b"3", 1))  # same size, other bytes
    assert blob.read_bytes() != original

    cli.ok("build", "run", "--movie", M, "--force", "Producer:Script.ScriptWriter", "--force", narrator(0))

    assert blob.read_bytes() == original
    assert cli.run("verify", "--movie", M).code == 0
