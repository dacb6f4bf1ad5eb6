"""Item embeddings from a run folder: spectral, GNN (LightGCN / GraphSAGE), SASRec, text."""
