"""The churn ML pipeline: KFP components, the pipeline, and the model logic they share."""
