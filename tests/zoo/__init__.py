"""The study zoo: generated study layouts with known answers."""


def write_waves(folder, frames) -> list[str]:
    """Write each wave's data frame as ``wave<k>.csv`` in ``folder`` (made if
    absent) and return the codebook's ``[[files]]`` entries for them."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for k, (wave, frame) in enumerate(frames.items()):
        frame.to_csv(folder / f"wave{k}.csv", index=False)
        files.append(f'[[files]]\npath = "wave{k}.csv"\nwave = "{wave}"\n')
    return files
