"""Interest prototypes (soft modularity, Leiden baseline), prototype-supervised semantic IDs
(residual k-means, RQ-VAE), the SID table and prefix trie, and the ``tokenize`` stage."""
