"""Word times from Piper: expose the model's phoneme durations, then group phonemes into text words.

Why patch the model: a Piper (VITS) voice computes how many audio frames each phoneme id lasts (the
``Ceil`` of its duration predictor) but does not output it. piper-tts 1.8 can return those counts as
``AudioChunk.phoneme_alignments`` when that tensor is a graph output; its own patcher needs the ``onnx``
package (17 MB, not installed). Marking a tensor as an output is one appended ``ValueInfoProto`` in the
protobuf, so :func:`expose_phoneme_durations` edits the wire format directly, in memory, on the
verified bytes: the file on disk is never changed and its pinned SHA-256 still holds.

Why per-token phonemisation: espeak turns a sentence into IPA words separated by spaces, but not one
per text token (``1,200`` becomes three words, ``e.g.`` two). Phonemising each token alone says how
many IPA words it yields; when those counts add up to the sentence's, tokens map to IPA words
exactly, otherwise tokens are spread over the IPA words in proportion (still monotonic, within the
sentence).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

__all__ = ["expose_phoneme_durations", "group_words", "ipa_words", "token_ipa_counts"]

_LEN = 2  # protobuf wire type: length-delimited
_MODEL_GRAPH = 7  # ModelProto.graph
_GRAPH_NODE = 1  # GraphProto.node
_GRAPH_OUTPUT = 12  # GraphProto.output
_NODE_OUTPUT = 2  # NodeProto.output
_NODE_OP_TYPE = 4  # NodeProto.op_type
_PUNCTUATION = frozenset('.,;:!?¡¿—…"«»“”()')
_MARKERS = frozenset({"^", "$", "_"})  # Piper's BOS, EOS and PAD


def _varint(data: bytes, index: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if index >= len(data):
            raise ValueError("truncated protobuf varint")
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, index


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | 0x80 if value else low)
        if not value:
            return bytes(out)


def _fields(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """``(field number, tag offset, payload start, payload end)`` of length-delimited fields in a span."""
    index = start
    while index < end:
        tag_at = index
        tag, index = _varint(data, index)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, index = _varint(data, index)
        elif wire == 1:
            index += 8
        elif wire == 5:
            index += 4
        elif wire == _LEN:
            size, index = _varint(data, index)
            if index + size > end:
                raise ValueError("truncated protobuf field")
            yield number, tag_at, index, index + size
            index += size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if index > end:
            raise ValueError("truncated protobuf field")


def expose_phoneme_durations(model: bytes) -> bytes:
    """The ONNX ``model`` with its single ``Ceil`` tensor (phoneme durations) added as a graph output.

    Raises ValueError when the bytes are not such a model (no graph, no or several Ceil tensors), or
    when the tensor is an output already.
    """
    graphs = [(tag_at, start, end) for number, tag_at, start, end in _fields(model, 0, len(model))
              if number == _MODEL_GRAPH]  # fmt: skip
    if len(graphs) != 1:
        raise ValueError("not an ONNX model with one graph")
    tag_at, start, end = graphs[0]
    ceil: set[bytes] = set()
    outputs: set[bytes] = set()
    for number, _at, node_start, node_end in _fields(model, start, end):
        if number == _GRAPH_NODE:
            op_type = b""
            names = []
            for field, _tag, a, b in _fields(model, node_start, node_end):
                if field == _NODE_OP_TYPE:
                    op_type = model[a:b]
                elif field == _NODE_OUTPUT:
                    names.append(model[a:b])
            if op_type == b"Ceil":
                ceil.update(names)
        elif number == _GRAPH_OUTPUT:
            for field, _tag, a, b in _fields(model, node_start, node_end):
                if field == 1:
                    outputs.add(model[a:b])
    if len(ceil) != 1:
        raise ValueError(f"expected one Ceil tensor in the voice model, found {len(ceil)}")
    name = next(iter(ceil))
    if name in outputs:
        raise ValueError("the phoneme durations are already an output")
    value_info = b"\x0a" + _encode_varint(len(name)) + name
    output = bytes([_GRAPH_OUTPUT << 3 | _LEN]) + _encode_varint(len(value_info)) + value_info
    graph = model[start:end] + output
    head = bytes([_MODEL_GRAPH << 3 | _LEN]) + _encode_varint(len(graph))
    return model[:tag_at] + head + graph + model[end:]


def ipa_words(alignments: Sequence[tuple[str, int]]) -> list[tuple[int, int]]:
    """``(first sample, end sample)`` of each spoken IPA word in a sentence's phoneme alignments.

    ``alignments`` are ``(phoneme, samples)`` in order (BOS and EOS included). Words are separated by
    spaces; punctuation and markers take time but belong to no word (a pause, not speech).
    """
    words: list[tuple[int, int]] = []
    position = 0
    first: int | None = None
    last = 0
    for phoneme, samples in alignments:
        if phoneme == " ":
            if first is not None:
                words.append((first, last))
                first = None
        elif phoneme not in _PUNCTUATION and phoneme not in _MARKERS:
            if first is None:
                first = position
            last = position + samples
        position += samples
    if first is not None:
        words.append((first, last))
    return words


def group_words(counts: Sequence[int], spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """One ``(start, end)`` per token, from how many IPA words each token yields and the IPA word spans.

    Exact when ``sum(counts) == len(spans)``; otherwise token boundaries are spread in proportion over
    the spans (monotonic, covering them all). A token with no IPA word gets a zero-length span where the
    next token starts.
    """
    if not counts:
        return []
    if not spans:
        return [(0, 0)] * len(counts)
    total = sum(counts)
    if total != len(spans) or total == 0:
        weights = [max(count, 1) for count in counts]
        scale = len(spans) / sum(weights)
        cumulative = 0.0
        edges = [0]
        for weight in weights:
            cumulative += weight * scale
            edges.append(round(cumulative))
    else:
        edges = [0]
        for count in counts:
            edges.append(edges[-1] + count)
    result: list[tuple[int, int]] = []
    for index in range(len(counts)):
        first, stop = edges[index], max(edges[index + 1], edges[index])
        if stop > first:
            result.append((spans[first][0], spans[stop - 1][1]))
        else:
            at = spans[min(first, len(spans) - 1)][0] if first < len(spans) else spans[-1][1]
            result.append((at, at))
    for index in range(1, len(result)):  # keep starts monotonic
        start, end = result[index]
        floor = result[index - 1][0]
        result[index] = (max(start, floor), max(end, start, floor))
    return result


def token_ipa_counts(tokens: Sequence[str], phonemize: Callable[[str], list[list[str]]]) -> list[int]:
    """How many IPA words each token yields when phonemised alone."""
    counts = []
    for token in tokens:
        phonemes = [p for sentence in phonemize(token) for p in [*sentence, " "]]
        counts.append(len(ipa_words([(p, 1) for p in phonemes])))
    return counts
