"""Files: chainrule's model files (safetensors + JSON, read as hostile data)
and the interchange with PyTorch and ONNX."""
