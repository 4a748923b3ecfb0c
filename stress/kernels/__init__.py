"""numba kernels: plain loops over flat arrays into preallocated outputs.

Kernels import nothing of the project. Their public wrappers (in ``stress.pricing`` and
``stress.engine``) check shapes and allocate; the kernels only compute.
"""
