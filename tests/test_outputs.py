"""Sample files by suffix (``graphdiff.outputs``): each format holds one record per sample, in
order, and reads back; a suffix that does not fit the model, or a folder that cannot be written,
is refused before any work."""

from __future__ import annotations

import csv
import json

import networkx as nx
import pytest
import torch

from graphdiff.outputs import check_output, check_writable_dir, open_writer, write_samples
from graphdiff.pipelines import load_pretrained


@pytest.fixture(scope="module")
def molecules():
    return load_pretrained("qm9").sample(6, steps=2, seed=0)


@pytest.fixture(scope="module")
def graphs():
    return load_pretrained("community_small").sample(3, steps=2, seed=0)


def test_smi_csv_sdf_hold_one_record_per_molecule(molecules, tmp_path):
    from rdkit import Chem

    smi = molecules.save(tmp_path / "m.smi").read_text().splitlines()
    assert smi == [s if s is not None else "INVALID" for s in molecules.smiles]
    rows = list(csv.DictReader(write_samples(molecules, tmp_path / "m.csv").open()))
    assert [r["smiles"] or None for r in rows] == molecules.smiles and [int(r["index"]) for r in rows] == list(range(6))
    for r, res in zip(rows, molecules.report.results):
        assert int(r["valid_without_correction"]) == int(res.valid_without_correction)
        if r["smiles"]:
            mol = Chem.MolFromSmiles(r["smiles"])
            from rdkit.Chem import QED, Descriptors

            assert float(r["qed"]) == pytest.approx(QED.qed(mol), abs=1e-4)
            assert float(r["mol_weight"]) == pytest.approx(Descriptors.MolWt(mol), abs=1e-3)
    sdf = molecules.save(tmp_path / "m.sdf")
    assert sdf.read_text().count("$$$$") == 6  # the old save wrote SMILES lines into .sdf
    back = [m for m in Chem.SDMolSupplier(str(sdf))]
    assert [Chem.MolToSmiles(m) if m.GetNumAtoms() else None for m in back] == molecules.smiles
    assert [m.GetIntProp("index") for m in back] == list(range(6))


def test_graph_formats_read_back_the_same_graphs(graphs, tmp_path):
    want = [sorted(g.edges()) for g in graphs.graphs]
    js = json.loads(graphs.save(tmp_path / "g.json").read_text())
    assert [sorted(tuple(sorted((e["source"], e["target"]))) for e in d["links"]) for d in js] == want
    reader = nx.readwrite.graphml.GraphMLReader(node_type=int)
    gm = list(reader(path=str(graphs.save(tmp_path / "g.graphml"))))
    assert [sorted(tuple(sorted(e)) for e in g.edges()) for g in gm] == want
    assert [g.number_of_nodes() for g in gm] == [g.number_of_nodes() for g in graphs.graphs]
    pt = torch.load(graphs.save(tmp_path / "g.pt"), weights_only=False)
    assert [int(d.num_nodes) for d in pt] == [g.number_of_nodes() for g in graphs.graphs]
    assert [d.edge_index.shape[1] // 2 for d in pt] == [g.number_of_edges() for g in graphs.graphs]


@pytest.mark.parametrize("name, molecules_model", [("x.json", True), ("x.sdf", False), ("x.smi", False), ("x", True),
                                                   ("x.txt", True), ("x.pkl", False)])
def test_a_suffix_that_does_not_fit_the_model_is_refused(tmp_path, name, molecules_model):
    with pytest.raises(ValueError, match="writes"):
        check_output(tmp_path / name, molecules=molecules_model)
    assert not (tmp_path / name).exists()


def test_graph_samples_into_a_smi_file_are_refused(graphs, tmp_path):
    with pytest.raises(ValueError, match=r"graph model .*\.json"):
        graphs.save(tmp_path / "g.smi")  # the old save wrote JSON into it


def test_unwritable_folder_is_refused_up_front(tmp_path):
    with pytest.raises(ValueError, match="cannot write to"):
        check_output("/proc/x/out.smi", molecules=True)
    (tmp_path / "f").write_text("a file, not a folder")
    with pytest.raises(ValueError, match="cannot write to"):
        check_output(tmp_path / "f" / "out.smi", molecules=True)
    (tmp_path / "d.smi").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        check_output(tmp_path / "d.smi", molecules=True)


def test_checking_a_folder_without_creating_it_leaves_nothing_behind(tmp_path):
    target = tmp_path / "a" / "b"
    assert check_writable_dir(target, create=False) == target
    assert list(tmp_path.iterdir()) == []  # not made, and no probe file left
    (tmp_path / "f").write_text("a file, not a folder")
    with pytest.raises(ValueError, match="is not a folder"):
        check_writable_dir(tmp_path / "f" / "run", create=False)
    with pytest.raises(ValueError, match="cannot write to"):
        check_writable_dir("/proc/x/run", create=False)


def test_a_refused_training_config_leaves_no_out_folder(tmp_path):
    from typer.testing import CliRunner

    from graphdiff.cli import app

    cfg = tmp_path / "run.yaml"
    cfg.write_text("dataset: qm9\ninit_from: qm9_ctmc\nnetwork: {depth: 2}\n")
    res = CliRunner().invoke(app, ["train", "-c", str(cfg), "-o", str(tmp_path / "run"), "--steps", "1"])
    assert res.exit_code == 2 and "remove the network" in res.output
    assert not (tmp_path / "run").exists()


def test_writer_is_atomic(molecules, tmp_path):
    target = tmp_path / "m.smi"
    target.write_text("old complete file\n")
    w = open_writer(target, molecules=True)
    w.write(molecules)
    assert target.read_text() == "old complete file\n"  # nothing replaced until close
    w.abort()
    assert target.read_text() == "old complete file\n" and [p.name for p in tmp_path.iterdir()] == ["m.smi"]
