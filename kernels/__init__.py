"""Triton kernels, installed as ``gpu_mmnist.kernels``; each mirrors a function of the reference."""
