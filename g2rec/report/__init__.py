"""Drawing the evaluation report: HTML, PNG figures, published anchors, history-length buckets
(:mod:`g2rec.pipeline.report` gathers what a run folder holds and calls these)."""
