"""Plain-PyTorch models to export: `examples.gpt2` and `examples.llama` (run from Examples/torch)."""
