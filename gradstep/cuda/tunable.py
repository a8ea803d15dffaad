"""``torch.cuda.tunable``: TunableOp GEMM tuning, a GPU feature; here it is off and stays off
(setters are accepted, nothing is tuned)."""

from __future__ import annotations

__all__ = ["enable", "is_enabled", "tuning_enable", "tuning_is_enabled", "record_untuned_enable",
           "record_untuned_is_enabled", "set_max_tuning_duration", "get_max_tuning_duration",
           "set_max_tuning_iterations", "get_max_tuning_iterations", "set_filename",
           "get_filename", "get_results", "get_validators", "read_file", "tune_gemm_in_file",
           "mgpu_tune_gemm_in_file", "set_rotating_buffer_size", "get_rotating_buffer_size",
           "set_numerical_check_tolerances"]


def _accept(*args, **kwargs) -> None:
    return None


def _off() -> bool:
    return False


enable = tuning_enable = record_untuned_enable = set_max_tuning_duration = _accept
set_max_tuning_iterations = set_filename = set_rotating_buffer_size = _accept
set_numerical_check_tolerances = tune_gemm_in_file = mgpu_tune_gemm_in_file = _accept
is_enabled = tuning_is_enabled = record_untuned_is_enabled = _off


def get_max_tuning_duration() -> int:
    return 0


def get_max_tuning_iterations() -> int:
    return 0


def get_rotating_buffer_size() -> int:
    return 0


def get_filename() -> str:
    return ""


def get_results() -> tuple:
    return ()


def get_validators() -> tuple:
    return ()


def read_file(filename=None) -> bool:
    return False
