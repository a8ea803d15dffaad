"""``torch.cuda.memory``: the memory functions of ``torch.cuda`` (nothing is allocated)."""

from __future__ import annotations

from . import (
               empty_cache,
               max_memory_allocated,
               max_memory_reserved,
               mem_get_info,
               memory_allocated,
               memory_reserved,
               memory_stats,
               reset_accumulated_memory_stats,
               reset_max_memory_allocated,
               reset_peak_memory_stats,
               set_per_process_memory_fraction,
)
from ._surface import (
               CUDAPluggableAllocator,
               MemPool,
               caching_allocator_alloc,
               caching_allocator_delete,
               caching_allocator_disabled,
               caching_allocator_enable,
               change_current_allocator,
               get_allocator_backend,
               get_per_process_memory_fraction,
               host_memory_stats,
               host_memory_stats_as_nested_dict,
               list_gpu_processes,
               max_memory_cached,
               memory_cached,
               memory_snapshot,
               memory_stats_as_nested_dict,
               memory_summary,
               reset_accumulated_host_memory_stats,
               reset_max_memory_cached,
               reset_peak_host_memory_stats,
               use_mem_pool,
)

__all__ = ["caching_allocator_alloc", "caching_allocator_delete", "caching_allocator_enable",
           "caching_allocator_disabled", "get_per_process_memory_fraction",
           "set_per_process_memory_fraction", "empty_cache", "memory_stats",
           "memory_stats_as_nested_dict", "reset_accumulated_memory_stats",
           "reset_peak_memory_stats", "reset_max_memory_allocated", "reset_max_memory_cached",
           "host_memory_stats", "host_memory_stats_as_nested_dict",
           "reset_accumulated_host_memory_stats", "reset_peak_host_memory_stats",
           "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
           "memory_cached", "max_memory_cached", "memory_snapshot", "memory_summary",
           "list_gpu_processes", "mem_get_info", "get_allocator_backend",
           "CUDAPluggableAllocator", "change_current_allocator", "MemPool", "use_mem_pool"]
