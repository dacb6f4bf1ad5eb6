"""Sequence models: the causal Transformer shared by SASRec embeddings and the generator."""

from .transformer import Transformer, TransformerConfig

__all__ = ["Transformer", "TransformerConfig"]
