"""Stores that bypass the cache, for output written once and not read back by the kernel.

A positions run writes its detail (10k positions x 1k scenarios: 1.6 GB) once. An ordinary
store first reads the line it writes into the cache (read for ownership) and later evicts it
to memory, so every byte of the detail crosses the memory bus twice and the stores stall on
the reads. A non-temporal store goes to memory through the write-combining buffers instead:
a synthetic write-out of 1.6 GB in the pass's pattern (runs of 64 values per column and
scenario) took 0.09 s this way against 0.30 s with ordinary stores, into pages already
mapped. In the positions pass, whose stores overlap its arithmetic, 10k positions x 1k
scenarios into kept pages (``stress.pages``) took 5 % less on two threads and 6 to 13 % less
on one; into fresh pages, whose faults dominate, no less. The values are the same bits; only
the route differs.

Non-temporal stores are weakly ordered: ``store_fence`` must follow a thread's last one before
another thread reads what it wrote (a block's end: its thread joins the others afterwards).
On targets without such stores LLVM emits ordinary ones.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I64 = ir.IntType(64)
_NONTEMPORAL = [ir.Constant(ir.IntType(32), 1)]
#: numba compiles for the machine it runs on.
_X86 = platform.machine().lower() in ("x86_64", "amd64")


@intrinsic
def _stream_store(typingctx: Any, array: Any, i: Any, j: Any, value: Any) -> Any:
    """``array[i, j] = value`` for a C-contiguous 2-D float64 array, bypassing the cache;
    indices unchecked and not wrapped (the caller's are in bounds)."""
    if not (
        isinstance(array, types.Array)
        and array.ndim == 2
        and array.dtype == types.float64
        and array.layout == "C"
    ):
        return None
    sig = types.void(array, i, j, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type = signature.args[0]
        a, ii, jj, v = args
        ary = context.make_array(array_type)(context, builder, a)
        ptr = cgutils.get_item_pointer(context, builder, array_type, ary, [ii, jj],
                                       wraparound=False)  # fmt: skip
        # As a 64-bit integer: x86 has a non-temporal store for those (MOVNTI) and LLVM
        # emits a scalar double's as an ordinary store.
        store = builder.store(builder.bitcast(v, _I64), builder.bitcast(ptr, _I64.as_pointer()))
        store.set_metadata("nontemporal", builder.module.add_metadata(_NONTEMPORAL))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _store_fence(typingctx: Any) -> Any:
    """Order this thread's earlier stores, non-temporal ones included, before its later ones:
    SFENCE on x86 (what Intel prescribes after non-temporal stores), a sequentially
    consistent fence elsewhere."""
    sig = types.void()

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        if _X86:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse.sfence"
            )
            builder.call(fn, [])
        else:
            builder.fence("seq_cst")
        return context.get_dummy_value()

    return sig, codegen


# The kernels' names for them, typed as the calls read (numba's decorator types them with the
# typing context first).
stream_store = cast(Callable[[npt.NDArray[np.float64], int, int, float], None], _stream_store)
store_fence = cast(Callable[[], None], _store_fence)
