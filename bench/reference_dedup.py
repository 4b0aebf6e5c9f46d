"""The plain reference for bench_dedup.py: hash every file one after another, then group.

This is the straightforward way the original script worked; it is kept only to measure
deduplicate_images.py against. Same rule: same date, same pHash, same size -> keep the earliest
(ties: the original name, then name order). Its printed summary is the old one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import imagehash
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from picextract.dedup.groups import ImageFile, keeper_order, parse_name_time  # noqa: E402
from picextract.dedup.report import DuplicatePair, statistics_text  # noqa: E402
from picextract.pictures.media import PICTURE_EXTENSIONS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--dry-run", action="store_true", help="hash and group only")
    parser.add_argument("--kept-list", type=Path, help="write the kept file names here, one a line")
    args = parser.parse_args()
    source, output = Path(args.source), Path(args.output)
    names = sorted(n for n in os.listdir(source) if os.path.splitext(n)[1].lower() in PICTURE_EXTENSIONS)
    groups: dict[tuple[object, ...], list[str]] = {}
    for name in names:
        taken_at = parse_name_time(name)
        try:
            with Image.open(source / name) as image:
                key: tuple[object, ...] = (
                    taken_at.date() if taken_at else None,
                    str(imagehash.phash(image)),
                    os.path.getsize(source / name),
                )
        except Exception:
            key = ("unreadable", name)
        groups.setdefault(key, []).append(name)
    if not args.dry_run:
        output.mkdir(parents=True, exist_ok=True)
    kept, pairs, removed, duplicate_groups = [], [], 0, 0
    for members in groups.values():
        members.sort(key=lambda n: keeper_order(ImageFile(n, 0, parse_name_time(n))))  # earliest, original name, name
        keeper = members[0]
        kept.append(keeper)
        if not args.dry_run:
            shutil.copy2(source / keeper, output / keeper)
        if len(members) > 1:
            duplicate_groups += 1
        for other in members[1:]:
            removed += 1
            kept_at, other_at = parse_name_time(keeper), parse_name_time(other)
            if kept_at and other_at:
                pairs.append(DuplicatePair(other, keeper, (other_at - kept_at).total_seconds()))
    if args.kept_list:
        args.kept_list.write_text("".join(f"{name}\n" for name in sorted(kept)))
    print(f"{len(names)} pictures, {len(kept)} kept, {removed} removed, {duplicate_groups} groups")
    print()
    print(statistics_text(pairs))


if __name__ == "__main__":
    main()
