import csv
import math

import torch
from torch.utils.data import TensorDataset


def csv_dataset(
    path: str,
    target_column: str,
    feature_columns: list[str],
    task: str,
    delimiter: str,
) -> TensorDataset:
    """The rows of the CSV file at `path`, whose first row names the columns.

    The inputs are the numbers of `feature_columns` (every column but the target when
    empty), as float32. Classification targets are int64 class indices: the target
    column's integers as they are when all of them are integers, else its distinct
    values numbered in sorted order. Regression targets are float32, shape [1]. Rows
    are numbered as lines of the file, the header being row 1; blank lines are skipped.
    """

    def number(field: str, where: str, column: str) -> float:
        try:
            value = float(field)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            problem = f"{field.strip()!r} is not a number"
            raise ValueError(f"{where}, column {column!r}: {problem}")
        return value

    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, delimiter=delimiter)
        header = [name.strip() for name in next(reader, [])]
        if not any(header):
            raise ValueError(f"{path} has no header row naming its columns")
        names = list(feature_columns) or [n for n in header if n != target_column]
        for name in [target_column, *names]:
            if name not in header:
                raise ValueError(
                    f"{path} has no column {name!r}; its header is {', '.join(header)}"
                )
        columns = [header.index(name) for name in names]
        target_index = header.index(target_column)
        inputs: list[list[float]] = []
        labels: list[str] = []
        numbers: list[float] = []
        for row in reader:
            if not any(field.strip() for field in row):
                continue
            where = f"{path}, row {reader.line_num}"
            if len(row) != len(header):
                raise ValueError(f"{where} has {len(row)} fields, not {len(header)}")
            inputs.append([number(row[i], where, n) for n, i in zip(names, columns)])
            label = row[target_index].strip()
            if task == "regression":
                numbers.append(number(label, where, target_column))
            elif not label:
                raise ValueError(f"{where}, column {target_column!r}: no class label")
            labels.append(label)
    if not inputs:
        raise ValueError(f"{path} has a header but no data rows")
    features = torch.tensor(inputs, dtype=torch.float32).reshape(len(inputs), -1)
    if task == "regression":
        targets = torch.tensor(numbers, dtype=torch.float32).reshape(-1, 1)
        return TensorDataset(features, targets)
    try:
        indices = [int(label) for label in labels]
    except ValueError:
        order = {label: index for index, label in enumerate(sorted(set(labels)))}
        indices = [order[label] for label in labels]
    return TensorDataset(features, torch.tensor(indices, dtype=torch.int64))
