"""Text writers for the script, image-prompt and music-prompt producers: the script-writer chain.

Why a package of its own: the chain (an OpenAI-compatible server, an in-process local model, the honest
draft) shares one contract — a backend that turns chat messages (and, where it can, a JSON schema) into
text — and one validation step, whichever backend wrote the text.
"""
