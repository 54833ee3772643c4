"""Make the offline speech-enhancement set for benchmarks/speech_enhancement.py (SGMSE+ demo).

Speech is synthesised with espeak-ng (installed here with apt-get when missing; the unit tests never
need it) from seeded random sentences in varied voices, speeds and pitches; espeak-ng writes
22.05 kHz, resampled to 16 kHz (scipy.signal.resample_poly 320/441, as PESQ needs 16 kHz). Each
utterance is mixed with generated noise (white, pink 1/f, or babble: five other synthetic
utterances summed) at an SNR drawn uniformly from [0, 15] dB. Train and test use disjoint
sentences, disjoint babble talkers and independent noise draws; everything follows from --seed.

Output (outside the repo, never committed): OUT/{train,test}.npz with float32 arrays
``clean`` and ``noisy`` (concatenated samples), ``offsets`` (n + 1), ``snr_db``, ``noise_type``,
plus OUT/manifest.json (counts, seed, voices, sentence per utterance, the command).

    python benchmarks/speech_data.py --out ~/.cache/graphdiff/speech_synth --train 600 --test 40
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SR_IN, SR_OUT = 22050, 16000
VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
VARIANTS = ["", "+m1", "+m2", "+m3", "+m4", "+f1", "+f2", "+f3", "+f4", "+klatt"]
NOISE_TYPES = ("white", "pink", "babble")

_SUBJ = ["the old man", "a small child", "my sister", "the doctor", "our neighbour", "the pilot", "a quiet student",
         "the farmer", "her brother", "the teacher", "a tall woman", "the driver", "his friend", "the baker"]
_VERB = ["carried", "painted", "found", "lost", "opened", "cleaned", "bought", "sold", "moved", "watched",
         "fixed", "counted", "dropped", "wrapped", "borrowed", "described"]
_OBJ = ["a heavy box", "the blue door", "seven apples", "the broken clock", "a wooden chair", "the red kite",
        "an old letter", "the silver coin", "a bright lamp", "the paper map", "twelve stones", "the green bottle"]
_TAIL = ["before noon", "in the garden", "near the river", "after dinner", "on a cold morning", "with great care",
         "at the station", "under the bridge", "during the storm", "by the window", "without a word", "last summer"]


def ensure_espeak() -> str:
    """Path of espeak-ng, installing the Debian package when missing (needs root)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        print("espeak-ng not found: apt-get install -y espeak-ng", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "espeak-ng"], check=True, stdout=subprocess.DEVNULL)
        exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("error: espeak-ng could not be installed (apt-get install -y espeak-ng)")
    return exe


def sentences(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct random sentences from the small grammar above."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        s = f"{rng.choice(_SUBJ)} {rng.choice(_VERB)} {rng.choice(_OBJ)} {rng.choice(_TAIL)}"
        if rng.random() < 0.4:
            s += f" and {rng.choice(_SUBJ)} {rng.choice(_VERB)} {rng.choice(_OBJ)}"
        if s not in seen:
            seen.add(s)
            out.append(s.capitalize() + ".")
    return out


def synthesise(exe: str, text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """espeak-ng speech at 16 kHz, float64 in [-1, 1]."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", f.name, text], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sr, wav = wavfile.read(f.name)
    if sr != SR_IN:
        raise RuntimeError(f"espeak-ng wrote {sr} Hz, expected {SR_IN}")
    x = wav.astype(np.float64) / 32768.0
    return resample_poly(x, 320, 441)  # 22050 * 320 / 441 = 16000


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """1/f noise: white noise shaped by 1/sqrt(f) in the frequency domain."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n)


def mix(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``clean + a noise`` with ``10 log10(|clean|^2 / |a noise|^2) = snr_db``."""
    p_s, p_n = np.mean(clean**2), np.mean(noise**2)
    return clean + noise * np.sqrt(p_s / (p_n * 10 ** (snr_db / 10)))


def make_split(exe: str, rng: np.random.Generator, texts: list[str], babble_pool: list[np.ndarray], max_seconds: float) -> dict:
    from tqdm import tqdm

    clean_all, noisy_all, offsets, snrs, kinds, meta = [], [], [0], [], [], []
    for text in tqdm(texts, desc="synthesise", leave=False):
        voice = str(rng.choice(VOICES)) + str(rng.choice(VARIANTS))
        speed, pitch = int(rng.integers(130, 191)), int(rng.integers(25, 76))
        x = synthesise(exe, text, voice, speed, pitch)
        x = x[: int(max_seconds * SR_OUT)]
        x = 0.5 * x / max(np.abs(x).max(), 1e-9) * rng.uniform(0.5, 1.0)
        kind = str(rng.choice(NOISE_TYPES))
        if kind == "white":
            noise = rng.standard_normal(x.size)
        elif kind == "pink":
            noise = pink_noise(rng, x.size)
        else:
            noise = np.zeros(x.size)
            for j in rng.choice(len(babble_pool), 5, replace=False):
                b = babble_pool[j]
                start = int(rng.integers(0, max(1, b.size - x.size)))
                seg = np.resize(b[start:], x.size)  # tiles a short talker
                noise += seg / max(np.sqrt(np.mean(seg**2)), 1e-9)
        snr = float(rng.uniform(0.0, 15.0))
        y = mix(x, noise, snr)
        peak = max(np.abs(y).max(), 1.0)  # keep the mixture in [-1, 1]
        clean_all.append((x / peak).astype(np.float32))
        noisy_all.append((y / peak).astype(np.float32))
        offsets.append(offsets[-1] + x.size)
        snrs.append(snr)
        kinds.append(kind)
        meta.append({"text": text, "voice": voice, "speed": speed, "pitch": pitch, "noise": kind, "snr_db": round(snr, 3)})
    return {"clean": np.concatenate(clean_all), "noisy": np.concatenate(noisy_all), "offsets": np.array(offsets, dtype=np.int64),
            "snr_db": np.array(snrs, dtype=np.float32), "noise_type": np.array(kinds), "meta": meta}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path.home() / ".cache" / "graphdiff" / "speech_synth")
    ap.add_argument("--train", type=int, default=600, help="training utterances")
    ap.add_argument("--test", type=int, default=40, help="test utterances")
    ap.add_argument("--babble", type=int, default=40, help="babble talkers per split (disjoint sentences)")
    ap.add_argument("--max-seconds", type=float, default=3.0, help="utterances are cut to this length")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.train < 1 or args.test < 1 or args.babble < 5:
        print("error: need --train >= 1, --test >= 1 and --babble >= 5", file=sys.stderr)
        return 2
    exe = ensure_espeak()
    rng = np.random.default_rng(args.seed)
    texts = sentences(rng, args.train + args.test + 2 * args.babble)
    tr, te = texts[: args.train], texts[args.train: args.train + args.test]
    bab = texts[args.train + args.test:]
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {"seed": args.seed, "sample_rate": SR_OUT, "snr_db_range": [0, 15], "noise_types": list(NOISE_TYPES),
                "voices": VOICES, "variants": VARIANTS, "max_seconds": args.max_seconds,
                "command": "python benchmarks/speech_data.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    for name, split_texts, pool_texts in (("train", tr, bab[: args.babble]), ("test", te, bab[args.babble:])):
        pool = [synthesise(exe, t, str(rng.choice(VOICES)) + str(rng.choice(VARIANTS)), int(rng.integers(130, 191)), int(rng.integers(25, 76)))
                for t in pool_texts]
        data = make_split(exe, rng, split_texts, pool, args.max_seconds)
        meta = data.pop("meta")
        tmp = args.out / f".{name}.tmp.npz"
        np.savez(tmp, **data)
        tmp.replace(args.out / f"{name}.npz")
        manifest[name] = {"count": len(split_texts), "seconds": round(data["offsets"][-1] / SR_OUT, 1), "utterances": meta}
        print(f"{name}: {len(split_texts)} utterances, {data['offsets'][-1] / SR_OUT:.0f} s -> {args.out / (name + '.npz')}")
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
