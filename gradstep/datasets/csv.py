"""``CSVDataset``: a numeric table in a CSV file with a header row."""

from __future__ import annotations

import csv
import os

from .._tensor import Tensor
from ..backend import get_default_dtype, xp
from ..utils.data.dataset import Dataset


def _parse_number(text, path, line, column):
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}, line {line}, column '{column}': {text!r} is not a number "
                         "(CSVDataset needs numeric columns)") from None


def _is_integer_literal(text):
    return text.strip().lstrip("+-").isdigit()


class CSVDataset(Dataset):
    """Rows of a CSV file as ``(features, target)``.

    The first row names the columns; every other row must hold numbers. The file
    is read as UTF-8 (a leading byte-order mark, as spreadsheets write, is dropped).
    ``features`` is a 1-d tensor of the non-target columns in file order (the
    default float dtype). ``target`` is an int64 scalar tensor when every value
    in the target column is written as an integer (class labels), else a float
    scalar of the default dtype. ``target_column`` is a column name or index.
    ``feature_names``, ``data`` (N x F) and ``targets`` (N) are kept.
    """

    def __init__(self, path, target_column, transform=None, target_transform=None):
        self.path = os.fspath(path)
        self.transform = transform
        self.target_transform = target_transform
        with open(self.path, newline="", encoding="utf-8-sig") as f:  # -sig: spreadsheets write a BOM
            reader = csv.reader(f)
            try:
                rows = list(reader)
            except csv.Error as e:  # a field past csv's limit (128 KiB), an unterminated quote, ...
                raise ValueError(f"{self.path}, line {reader.line_num}: not a CSV file CSVDataset can read "
                                 f"({e})") from None
        if not rows:
            raise ValueError(f"{self.path}: the file is empty; CSVDataset needs a header row")
        header = [h.strip() for h in rows[0]]
        target = self._target_index(header, target_column)
        self.target_column = header[target]
        self.feature_names = [h for i, h in enumerate(header) if i != target]
        features, targets, integer_targets = [], [], True
        for line, row in enumerate(rows[1:], start=2):
            if not row or all(not cell.strip() for cell in row):
                continue  # blank line
            if len(row) != len(header):
                raise ValueError(f"{self.path}, line {line}: {len(row)} values but the header has "
                                 f"{len(header)} columns")
            values = [_parse_number(cell, self.path, line, header[i]) for i, cell in enumerate(row)]
            integer_targets = integer_targets and _is_integer_literal(row[target])
            targets.append(values.pop(target))
            features.append(values)
        if not features:
            raise ValueError(f"{self.path}: no data rows after the header")
        self.data = Tensor._make(xp.asarray(features, dtype=get_default_dtype().np))
        tdtype = xp.int64 if integer_targets else get_default_dtype().np
        self.targets = Tensor._make(xp.asarray(targets).astype(tdtype))

    def _target_index(self, header, target_column):
        if isinstance(target_column, int) and not isinstance(target_column, bool):
            if not -len(header) <= target_column < len(header):
                raise IndexError(f"{self.path}: target_column {target_column} is out of range for "
                                 f"{len(header)} columns")
            return target_column % len(header)
        if target_column not in header:
            raise ValueError(f"{self.path}: no column named {target_column!r}; the columns are "
                             + ", ".join(repr(h) for h in header))
        return header.index(target_column)

    def __getitem__(self, index):
        features = Tensor._make(self.data._data[index].copy())
        target = Tensor._make(self.targets._data[index].copy())
        if self.transform is not None:
            features = self.transform(features)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return features, target

    def __len__(self):
        return len(self.targets._data)
