"""Reads TensorBoard event files with the `tensorboard` package (the reference reader, which
checks the TFRecord CRCs) and prints their scalars as JSON: {tag: [[step, value, wall_time], ...]}.

    python tools/reference/read_tfevents.py EVENT_FILE_OR_DIR
"""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow


def main():
    path = sys.argv[1]
    out = {"scalars": {}, "file_version": None}
    if path.endswith(".json"):
        raise SystemExit("expected an event file or directory")
    acc = EventAccumulator(path, size_guidance={"scalars": 0})
    acc.Reload()
    for tag in acc.Tags()["scalars"]:
        out["scalars"][tag] = [[e.step, e.value, e.wall_time] for e in acc.Scalars(tag)]
    # Every record again with TensorBoard's own record reader, which checks both CRCs and raises
    # DataLossError on a mismatch (the accumulator above only logs and stops there).
    import os
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(path, f) for f in os.listdir(path) if f.startswith("events.out.tfevents."))
    events = 0
    for f in files:
        reader = pywrap_tensorflow.PyRecordReader_New(f)
        while True:
            try:
                reader.GetNext()
            except errors.OutOfRangeError:
                break
            ev = event_pb2.Event.FromString(reader.record())
            events += 1
            if ev.HasField("file_version"):
                out["file_version"] = ev.file_version
    out["events"] = events
    print(json.dumps(out))


if __name__ == "__main__":
    main()
