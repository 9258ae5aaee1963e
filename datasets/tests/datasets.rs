//! The dataset plugins on small fake layouts: CoOp's layouts and class-name
//! rules, split files and fallbacks, few-shot selection against CPython,
//! the few-shot cache, base/new, toy data, the custom dataset and errors.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dassl_rs::config::{setup_cfg, CfgSources, Config, Value};
use dassl_rs::data::check::{build_dataset, check, check_config, CheckArgs};
use dassl_rs::data::fewshot::SubsampleMode;
use dassl_rs::data::split::fewshot_cache_path;
use dassl_rs::data::toy::{make_toy, solid_jpeg, ToyDatasetSpec, ToySpec};
use dassl_rs::data::DatasetEntry;
use dassl_rs::data::{DatasetBase, Datum};
use dassl_rs::errors::DataError;
use dassl_rs::registry::RegistryEntry;
use serde_json::{json, Value as Json};

fn config(root: &Path, name: &str, opts: &[(&str, Value)]) -> Config {
    dassl_datasets::link();
    let mut flags = vec![
        (
            "DATASET.ROOT".to_string(),
            Value::Str(root.to_string_lossy().into_owned()),
            "--root".to_string(),
        ),
        (
            "DATASET.NAME".to_string(),
            Value::Str(name.to_string()),
            "--dataset".to_string(),
        ),
    ];
    for (k, v) in opts {
        flags.push((k.to_string(), v.clone(), format!("test {k}")));
    }
    setup_cfg(&CfgSources {
        flags,
        ..Default::default()
    })
    .unwrap()
}

fn shots(k: i64, seed: i64) -> Vec<(&'static str, Value)> {
    vec![
        ("DATASET.NUM_SHOTS", Value::Int(k)),
        ("SEED", Value::Int(seed)),
    ]
}

fn build(root: &Path, name: &str, opts: &[(&str, Value)]) -> Result<DatasetBase, DataError> {
    build_dataset(&config(root, name, opts))
}

/// Writes a tiny real JPEG at `path`.
fn img(path: &Path) {
    static JPEG: OnceLock<Vec<u8>> = OnceLock::new();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, JPEG.get_or_init(|| solid_jpeg(4, 4, [90, 120, 200]))).unwrap();
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Writes a split JSON and its images under `prefix`.
fn write_split(path: &Path, prefix: &Path, split: &Json) {
    for part in ["train", "val", "test"] {
        for item in split[part].as_array().unwrap() {
            img(&prefix.join(item[0].as_str().unwrap()));
        }
    }
    write(path, &serde_json::to_string_pretty(split).unwrap());
}

/// A split of `classes` with 4 train, 2 val and 2 test images each.
fn small_split(classes: &[&str], folder: impl Fn(&str) -> String) -> Json {
    let mut split = json!({"train": [], "val": [], "test": []});
    for (label, c) in classes.iter().enumerate() {
        for (part, n) in [("train", 4), ("val", 2), ("test", 2)] {
            for i in 0..n {
                split[part].as_array_mut().unwrap().push(json!([
                    format!("{}/{part}_{i}.jpg", folder(c)),
                    label,
                    c
                ]));
            }
        }
    }
    split
}

fn rel(items: &[Datum], prefix: &Path) -> Vec<String> {
    items
        .iter()
        .map(|d| {
            d.impath
                .strip_prefix(prefix)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn sizes(d: &DatasetBase) -> (usize, usize, usize, usize) {
    (d.num_classes(), d.train_x.len(), d.val.len(), d.test.len())
}

fn fixture() -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../dassl-rs/tests/fixtures/datasets/fewshot.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn strs(v: &Json) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn registered_names_are_coop_plus_toy_and_custom() {
    dassl_datasets::link();
    let names = DatasetEntry::names();
    assert_eq!(
        names,
        [
            "Caltech101",
            "Custom",
            "DescribableTextures",
            "EuroSAT",
            "FGVCAircraft",
            "Food101",
            "ImageNet",
            "ImageNetA",
            "ImageNetR",
            "ImageNetSketch",
            "ImageNetV2",
            "OxfordFlowers",
            "OxfordPets",
            "SUN397",
            "StanfordCars",
            "ToyShapes",
            "ToyShapes20",
            "UCF101",
        ]
    );
    DatasetEntry::check_unique().unwrap();
    let cfg = config(Path::new("/nonexistent"), "Caltech101", &[]);
    assert_eq!(cfg.str("DATASET.SUBSAMPLE_CLASSES").unwrap(), "all");
    assert_eq!(cfg.str("DATASET.CUSTOM_SPEC").unwrap(), "");
}

/// Every split-file dataset reads CoOp's split JSON relative to its image folder.
#[test]
fn split_file_datasets_read_their_layouts() {
    let cases: [(&str, &str, &str, &[&str]); 9] = [
        (
            "Caltech101",
            "caltech-101",
            "101_ObjectCategories",
            &["face", "leopard", "airplane"],
        ),
        (
            "OxfordPets",
            "oxford_pets",
            "images",
            &["abyssinian", "american_bulldog", "beagle"],
        ),
        (
            "StanfordCars",
            "stanford_cars",
            "",
            &[
                "2012 Tesla Model S Sedan",
                "2000 AM General Hummer SUV",
                "2012 Acura RL Sedan",
            ],
        ),
        (
            "OxfordFlowers",
            "oxford_flowers",
            "jpg",
            &[
                "pink primrose",
                "hard-leaved pocket orchid",
                "canterbury bells",
            ],
        ),
        (
            "Food101",
            "food-101",
            "images",
            &["apple_pie", "baby_back_ribs", "baklava"],
        ),
        (
            "SUN397",
            "sun397",
            "SUN397",
            &[
                "abbey",
                "outdoor apartment_building",
                "indoor airport_terminal",
            ],
        ),
        (
            "DescribableTextures",
            "dtd",
            "images",
            &["banded", "blotchy", "braided"],
        ),
        (
            "EuroSAT",
            "eurosat",
            "2750",
            &["Annual Crop Land", "Forest", "Sea or Lake"],
        ),
        (
            "UCF101",
            "ucf101",
            "UCF-101-midframes",
            &["Apply_Eye_Makeup", "Yo_Yo", "Playing_Daf"],
        ),
    ];
    for (name, dir, image_dir, classes) in cases {
        let root = tempfile::tempdir().unwrap();
        let dataset_dir = root.path().join(dir);
        let prefix = if image_dir.is_empty() {
            dataset_dir.clone()
        } else {
            dataset_dir.join(image_dir)
        };
        let split = small_split(classes, |c| {
            if name == "StanfordCars" {
                format!("cars_train/{}", c.replace(' ', "_"))
            } else {
                c.replace(' ', "_")
            }
        });
        write_split(
            &dataset_dir.join(format!("split_zhou_{name}.json")),
            &prefix,
            &split,
        );
        let d = build(root.path(), name, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sizes(&d), (3, 12, 6, 6), "{name}");
        assert_eq!(d.classnames(), classes, "{name}");
        assert!(
            d.train_x
                .iter()
                .all(|x| x.impath.starts_with(&prefix) && x.impath.is_file()),
            "{name}"
        );
        // 2 shots: 2 of the 4 train images per class; val takes min(2, 4) = 2, all it has.
        let few = build(root.path(), name, &shots(2, 1)).unwrap();
        assert_eq!(sizes(&few), (3, 6, 6, 6), "{name}");
        assert!(fewshot_cache_path(&dataset_dir, 2, 1).is_file(), "{name}");
    }
}

#[test]
fn folder_fallbacks_apply_coop_class_rules() {
    // EuroSAT renames, DTD and Food101 keep folder names; the split file is written.
    for (name, dir, image_dir, folders, expected) in [
        (
            "EuroSAT",
            "eurosat",
            "2750",
            vec!["AnnualCrop", "HerbaceousVegetation", "SeaLake"],
            vec![
                "Annual Crop Land",
                "Herbaceous Vegetation Land",
                "Sea or Lake",
            ],
        ),
        (
            "DescribableTextures",
            "dtd",
            "images",
            vec!["zigzagged", "banded"],
            vec!["banded", "zigzagged"],
        ),
        (
            "Food101",
            "food-101",
            "images",
            vec!["apple_pie", "waffles"],
            vec!["apple_pie", "waffles"],
        ),
    ] {
        let root = tempfile::tempdir().unwrap();
        for f in &folders {
            for i in 0..10 {
                img(&root
                    .path()
                    .join(dir)
                    .join(image_dir)
                    .join(f)
                    .join(format!("{f}_{i}.jpg")));
            }
        }
        let d = build(root.path(), name, &shots(-1, 1)).unwrap();
        assert_eq!(d.classnames(), expected, "{name}");
        // 10 images: round(5) train, round(2) val, 3 test per class.
        let n = folders.len();
        assert_eq!(sizes(&d), (n, 5 * n, 2 * n, 3 * n), "{name}");
        let split_file = root
            .path()
            .join(dir)
            .join(format!("split_zhou_{name}.json"));
        let saved: Json =
            serde_json::from_str(&std::fs::read_to_string(&split_file).unwrap()).unwrap();
        assert_eq!(saved["train"].as_array().unwrap().len(), 5 * n);
        assert!(!saved["train"][0][0].as_str().unwrap().starts_with('/'));
    }
}

#[test]
fn fallback_split_and_fewshot_match_cpython() {
    let fx = fixture();
    let case = &fx["fallback_case"];
    let root = tempfile::tempdir().unwrap();
    let image_dir = root.path().join("caltech-101/101_ObjectCategories");
    for (class, files) in case["folders"].as_object().unwrap() {
        for f in strs(files) {
            img(&image_dir.join(class).join(f));
        }
    }
    let (k, seed) = (case["k"].as_i64().unwrap(), case["seed"].as_i64().unwrap());
    let d = build(root.path(), "Caltech101", &shots(k, seed)).unwrap();
    assert_eq!(rel(&d.train_x, &image_dir), strs(&case["train"]));
    assert_eq!(rel(&d.val, &image_dir), strs(&case["val"]));
    // The saved split is CPython's, item for item (BACKGROUND_Google and Faces_easy ignored).
    let saved: Json = serde_json::from_str(
        &std::fs::read_to_string(root.path().join("caltech-101/split_zhou_Caltech101.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(saved, case["split"]);
    assert_eq!(d.classnames(), ["face", "airplane", "ant", "bass"]);
}

#[test]
fn fewshot_selection_matches_cpython_fixture() {
    let fx = fixture();
    let case = &fx["split_case"];
    let root = tempfile::tempdir().unwrap();
    let image_dir = root.path().join("dtd/images");
    write_split(
        &root.path().join("dtd/split_zhou_DescribableTextures.json"),
        &image_dir,
        &case["split"],
    );
    let mut n = 0;
    for c in case["cases"].as_array().unwrap() {
        let (seed, k) = (c["seed"].as_i64().unwrap(), c["k"].as_i64().unwrap());
        let d = build(root.path(), "DescribableTextures", &shots(k, seed)).unwrap();
        assert_eq!(
            rel(&d.train_x, &image_dir),
            strs(&c["train"]),
            "seed {seed} K {k} train"
        );
        assert_eq!(
            rel(&d.val, &image_dir),
            strs(&c["val"]),
            "seed {seed} K {k} val"
        );
        // Again, now from the cache.
        let cached = build(root.path(), "DescribableTextures", &shots(k, seed)).unwrap();
        assert_eq!(cached, d);
        n += 1;
    }
    assert_eq!(n, 20);
}

#[test]
fn fewshot_cache_is_reused_then_rebuilt_when_the_split_changes() {
    let root = tempfile::tempdir().unwrap();
    let image_dir = root.path().join("dtd/images");
    let split_path = root.path().join("dtd/split_zhou_DescribableTextures.json");
    let mut split = small_split(&["banded", "blotchy"], |c| c.to_string());
    write_split(&split_path, &image_dir, &split);
    let first = build(root.path(), "DescribableTextures", &shots(2, 7)).unwrap();
    let cache = fewshot_cache_path(&root.path().join("dtd"), 2, 7);
    let mut text: Json = serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert!(
        text["train"][0][0].as_str().unwrap().starts_with("b"),
        "relative paths: {text}"
    );
    // Reuse: a hand-edited (still consistent) cache is what the next build returns.
    let all_train: Vec<Json> = split["train"].as_array().unwrap().clone();
    text["train"] = json!([all_train[0], all_train[4]]);
    std::fs::write(&cache, serde_json::to_string(&text).unwrap()).unwrap();
    let reused = build(root.path(), "DescribableTextures", &shots(2, 7)).unwrap();
    assert_eq!(reused.train_x.len(), 2);
    assert_ne!(reused.train_x, first.train_x);
    // Changed data: one train image fewer; the cache no longer matches and is rebuilt.
    split["train"].as_array_mut().unwrap().remove(0);
    write_split(&split_path, &image_dir, &split);
    let rebuilt = build(root.path(), "DescribableTextures", &shots(2, 7)).unwrap();
    assert_eq!(rebuilt.train_x.len(), 4);
    let removed = image_dir.join(all_train[0][0].as_str().unwrap());
    assert!(rebuilt.train_x.iter().all(|d| d.impath != removed));
    let new_text: Json = serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert_ne!(new_text["source_fingerprint"], text["source_fingerprint"]);
    // Moving the whole root keeps the cache valid (relative paths).
    let moved = tempfile::tempdir().unwrap();
    std::fs::rename(root.path().join("dtd"), moved.path().join("dtd")).unwrap();
    let after_move = build(moved.path(), "DescribableTextures", &shots(2, 7)).unwrap();
    assert_eq!(
        rel(&after_move.train_x, &moved.path().join("dtd/images")),
        rel(&rebuilt.train_x, &image_dir)
    );
}

#[test]
fn unseeded_fewshot_still_works() {
    let root = tempfile::tempdir().unwrap();
    write_split(
        &root.path().join("dtd/split_zhou_DescribableTextures.json"),
        &root.path().join("dtd/images"),
        &small_split(&["a", "b"], |c| c.into()),
    );
    let d = build(root.path(), "DescribableTextures", &shots(1, -1)).unwrap();
    assert_eq!(sizes(&d), (2, 2, 2, 4));
    assert!(fewshot_cache_path(&root.path().join("dtd"), 1, -1).is_file());
}

#[test]
fn base_and_new_relabel_from_zero() {
    let root = tempfile::tempdir().unwrap();
    let classes = ["c0", "c1", "c2", "c3", "c4"];
    write_split(
        &root.path().join("dtd/split_zhou_DescribableTextures.json"),
        &root.path().join("dtd/images"),
        &small_split(&classes, |c| c.into()),
    );
    let with = |mode: SubsampleMode| {
        let mut o = shots(2, 1);
        o.push((
            "DATASET.SUBSAMPLE_CLASSES",
            Value::Str(mode.as_str().into()),
        ));
        build(root.path(), "DescribableTextures", &o).unwrap()
    };
    let all = with(SubsampleMode::All);
    let base = with(SubsampleMode::Base);
    let new = with(SubsampleMode::New);
    assert_eq!(sizes(&base), (3, 6, 6, 6));
    assert_eq!(sizes(&new), (2, 4, 4, 4));
    assert_eq!(base.classnames(), ["c0", "c1", "c2"]);
    assert_eq!(new.classnames(), ["c3", "c4"]);
    for d in new.train_x.iter().chain(&new.val).chain(&new.test) {
        assert_eq!(
            d.label,
            classes.iter().position(|c| *c == d.classname).unwrap() - 3
        );
    }
    // Base and new come from the one shared few-shot selection.
    let base_paths: Vec<_> = all
        .train_x
        .iter()
        .filter(|d| d.label < 3)
        .map(|d| &d.impath)
        .collect();
    assert_eq!(
        base.train_x.iter().map(|d| &d.impath).collect::<Vec<_>>(),
        base_paths
    );
    let bad = build(
        root.path(),
        "DescribableTextures",
        &[("DATASET.SUBSAMPLE_CLASSES", Value::Str("half".into()))],
    )
    .unwrap_err();
    assert!(bad.to_string().contains("half"), "{bad}");
}

#[test]
fn fgvc_aircraft_reads_the_official_lists() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("fgvc_aircraft");
    write(&dir.join("variants.txt"), "707-320\n727-200\nA300B4\n");
    let mut n = 0;
    for (part, per) in [("train", 3), ("val", 2), ("test", 2)] {
        let mut lines = String::new();
        for (v, variant) in ["A300B4", "707-320", "727-200"].iter().enumerate() {
            for i in 0..per {
                n += 1;
                let id = format!("{:07}", 1000 * v + 10 * i + n);
                img(&dir.join("images").join(format!("{id}.jpg")));
                lines.push_str(&format!("{id} {variant}\n"));
            }
        }
        write(&dir.join(format!("images_variant_{part}.txt")), &lines);
    }
    let d = build(root.path(), "FGVCAircraft", &[]).unwrap();
    assert_eq!(sizes(&d), (3, 9, 6, 6));
    // Labels follow variants.txt, not the order of appearance.
    assert_eq!(d.classnames(), ["707-320", "727-200", "A300B4"]);
    assert_eq!(d.train_x[0].label, 2);
    let few = build(root.path(), "FGVCAircraft", &shots(1, 2)).unwrap();
    assert_eq!(sizes(&few), (3, 3, 3, 6));
    // A listed image that is missing is named with its list.
    std::fs::remove_file(&d.test[0].impath).unwrap();
    let e = build(root.path(), "FGVCAircraft", &[]).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, DataError::MissingImage { .. }) && msg.contains("images_variant_test.txt"),
        "{msg}"
    );
}

#[test]
fn annotation_fallbacks_follow_coop() {
    // OxfordPets: breed from the file name, lowercased; label = class id - 1.
    let root = tempfile::tempdir().unwrap();
    let pets = root.path().join("oxford_pets");
    let mut trainval = String::new();
    for (breed, id) in [("Abyssinian", 1), ("american_bulldog", 2)] {
        for i in 1..=10 {
            img(&pets.join(format!("images/{breed}_{i}.jpg")));
            trainval.push_str(&format!("{breed}_{i} {id} 1 1\n"));
        }
    }
    write(&pets.join("annotations/trainval.txt"), &trainval);
    img(&pets.join("images/Abyssinian_99.jpg"));
    write(&pets.join("annotations/test.txt"), "Abyssinian_99 1 1 1\n");
    let d = build(root.path(), "OxfordPets", &shots(-1, 1)).unwrap();
    assert_eq!(sizes(&d), (2, 16, 4, 1));
    assert_eq!(d.classnames(), ["abyssinian", "american_bulldog"]);
    assert!(pets.join("split_zhou_OxfordPets.json").is_file());

    // SUN397: drop the letter folder, reverse the rest.
    let sun = root.path().join("sun397");
    write(
        &sun.join("ClassName.txt"),
        "/a/abbey\n/a/apartment_building/outdoor\n",
    );
    let (mut train, mut test) = (String::new(), String::new());
    for c in ["a/abbey", "a/apartment_building/outdoor"] {
        for i in 0..6 {
            img(&sun.join(format!("SUN397/{c}/sun_{i}.jpg")));
            if i < 5 {
                train.push_str(&format!("/{c}/sun_{i}.jpg\n"))
            } else {
                test.push_str(&format!("/{c}/sun_{i}.jpg\n"))
            }
        }
    }
    write(&sun.join("Training_01.txt"), &train);
    write(&sun.join("Testing_01.txt"), &test);
    let d = build(root.path(), "SUN397", &shots(-1, 1)).unwrap();
    assert_eq!(d.classnames(), ["abbey", "outdoor apartment_building"]);
    assert_eq!(sizes(&d), (2, 8, 2, 2));

    // UCF101: CamelCase actions split with underscores; frames as .jpg.
    let ucf = root.path().join("ucf101");
    write(
        &ucf.join("ucfTrainTestlist/classInd.txt"),
        "1 ApplyEyeMakeup\n2 YoYo\n",
    );
    let (mut train, mut test) = (String::new(), String::new());
    for (a, id) in [("ApplyEyeMakeup", 1), ("YoYo", 2)] {
        let renamed = a
            .replace("EyeMakeup", "_Eye_Makeup")
            .replace("YoYo", "Yo_Yo");
        for g in 1..=6 {
            img(&ucf.join(format!("UCF-101-midframes/{renamed}/v_{a}_g0{g}_c01.jpg")));
            if g <= 5 {
                train.push_str(&format!("{a}/v_{a}_g0{g}_c01.avi {id}\n"))
            } else {
                test.push_str(&format!("{a}/v_{a}_g0{g}_c01.avi\n"))
            }
        }
    }
    write(&ucf.join("ucfTrainTestlist/trainlist01.txt"), &train);
    write(&ucf.join("ucfTrainTestlist/testlist01.txt"), &test);
    let d = build(root.path(), "UCF101", &shots(-1, 1)).unwrap();
    assert_eq!(d.classnames(), ["Apply_Eye_Makeup", "Yo_Yo"]);
    assert_eq!(sizes(&d), (2, 8, 2, 2));

    // StanfordCars and OxfordFlowers need CoOp's split files (their fallbacks read .mat).
    for (name, dir) in [
        ("StanfordCars", "stanford_cars"),
        ("OxfordFlowers", "oxford_flowers/jpg"),
    ] {
        std::fs::create_dir_all(root.path().join(dir)).unwrap();
        let e = build(root.path(), name, &[]).unwrap_err();
        assert!(
            matches!(e, DataError::MissingSplit { .. })
                && e.to_string().contains(&format!("split_zhou_{name}.json")),
            "{e}"
        );
    }
}

fn classnames_txt(wnids: &[&str]) -> String {
    wnids
        .iter()
        .enumerate()
        .map(|(i, w)| format!("{w} class {i}\n"))
        .collect()
}

#[test]
fn imagenet_and_its_test_only_variants() {
    let root = tempfile::tempdir().unwrap();
    let wnids = ["n01440764", "n01443537", "n01484850", "n01491361"];
    let inet = root.path().join("imagenet");
    write(&inet.join("classnames.txt"), &classnames_txt(&wnids));
    for w in &wnids {
        for i in 0..5 {
            img(&inet.join(format!("images/train/{w}/{w}_{i}.JPEG")));
        }
        for i in 0..2 {
            img(&inet.join(format!("images/val/{w}/ILSVRC2012_val_{w}_{i}.JPEG")));
        }
    }
    let d = build(root.path(), "ImageNet", &shots(2, 1)).unwrap();
    assert_eq!(sizes(&d), (4, 8, 8, 8));
    assert_eq!(d.val, d.test, "ImageNet's val is its test set");
    assert_eq!(d.classnames(), ["class 0", "class 1", "class 2", "class 3"]);
    let cache: Json =
        serde_json::from_str(&std::fs::read_to_string(fewshot_cache_path(&inet, 2, 1)).unwrap())
            .unwrap();
    assert!(cache.get("val").is_none(), "ImageNet caches train only");
    let mut o = shots(2, 1);
    o.push(("DATASET.SUBSAMPLE_CLASSES", Value::Str("new".into())));
    let new = build(root.path(), "ImageNet", &o).unwrap();
    assert_eq!(sizes(&new), (2, 4, 4, 4));
    assert_eq!(new.classnames(), ["class 2", "class 3"]);

    // ImageNetV2: folder i is class i of classnames.txt.
    let v2 = root.path().join("imagenetv2");
    write(&v2.join("classnames.txt"), &classnames_txt(&wnids));
    for label in 0..4 {
        for i in 0..3 {
            img(&v2.join(format!(
                "imagenetv2-matched-frequency-format-val/{label}/{i}.jpeg"
            )));
        }
    }
    let d = build(root.path(), "ImageNetV2", &[]).unwrap();
    assert_eq!(sizes(&d), (4, 12, 0, 12));
    assert_eq!(d.train_x, d.test);
    assert_eq!(d.classnames()[3], "class 3");

    // Sketch, A and R: labels over the sorted folders present (a subset of the 1,000 for A and R).
    for (name, dir, image_dir, folders) in [
        (
            "ImageNetSketch",
            "imagenet-sketch",
            "images",
            vec!["n01443537", "n01440764"],
        ),
        (
            "ImageNetA",
            "imagenet-adversarial",
            "imagenet-a",
            vec!["n01491361", "n01443537"],
        ),
        (
            "ImageNetR",
            "imagenet-rendition",
            "imagenet-r",
            vec!["n01484850", "n01440764", "n01491361"],
        ),
    ] {
        let base = root.path().join(dir);
        write(&base.join("classnames.txt"), &classnames_txt(&wnids));
        write(&base.join(image_dir).join("README.txt"), "ignored");
        for f in &folders {
            img(&base.join(image_dir).join(f).join("x.jpg"));
        }
        let d = build(root.path(), name, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut sorted = folders.clone();
        sorted.sort();
        let expected: Vec<String> = sorted
            .iter()
            .map(|w| format!("class {}", wnids.iter().position(|x| x == w).unwrap()))
            .collect();
        assert_eq!(d.classnames(), expected, "{name}");
        assert_eq!(
            sizes(&d),
            (folders.len(), folders.len(), 0, folders.len()),
            "{name}"
        );
    }
}

#[test]
fn missing_dataset_folder_names_the_expected_layout() {
    let root = tempfile::tempdir().unwrap();
    for name in DatasetEntry::names() {
        if name == "Custom" {
            continue;
        }
        let e = build(root.path(), name, &[]).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, DataError::MissingDataset { .. }),
            "{name}: {msg}"
        );
        assert!(
            msg.contains(&root.path().to_string_lossy().to_string())
                && msg.contains("expects this layout"),
            "{name}: {msg}"
        );
    }
    let e = build(root.path(), "OxfordPets", &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("oxford_pets") && e.contains("split_zhou_OxfordPets.json"),
        "{e}"
    );
    let e = build(root.path(), "Custom", &[]).unwrap_err();
    assert!(matches!(e, DataError::BadSpec { .. }), "{e}");
    let e = build(root.path(), "Caltech102", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("do you mean [Caltech101]"), "{e}");
}

#[test]
fn missing_image_in_split_file_is_named() {
    let root = tempfile::tempdir().unwrap();
    let split_path = root.path().join("dtd/split_zhou_DescribableTextures.json");
    write_split(
        &split_path,
        &root.path().join("dtd/images"),
        &small_split(&["a"], |c| c.into()),
    );
    std::fs::remove_file(root.path().join("dtd/images/a/val_1.jpg")).unwrap();
    let e = build(root.path(), "DescribableTextures", &[]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("a/val_1.jpg") && msg.contains("split_zhou_DescribableTextures.json"),
        "{msg}"
    );
}

#[test]
fn toy_data_is_deterministic_and_loads_as_toyshapes_and_custom() {
    fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if !p.ends_with("custom.yaml") {
                    out.push((
                        p.strip_prefix(dir).unwrap().to_path_buf(),
                        std::fs::read(&p).unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    }
    let spec = ToySpec {
        datasets: vec![
            ToyDatasetSpec {
                num_classes: 4,
                images_per_class: 8,
                image_size: 48,
                ..Default::default()
            },
            ToyDatasetSpec {
                dataset_dir: "toy_b".into(),
                split_name: "ToyB".into(),
                num_classes: 3,
                images_per_class: 6,
                image_size: 64,
            },
        ],
    };
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let report = make_toy(a.path(), 5, &spec).unwrap();
    make_toy(b.path(), 5, &spec).unwrap();
    make_toy(c.path(), 6, &spec).unwrap();
    assert_eq!(tree(a.path()), tree(b.path()), "same seed, same bytes");
    assert_ne!(tree(a.path()), tree(c.path()), "another seed, other images");
    assert_eq!(report.datasets.len(), 2);

    let d = build(a.path(), "ToyShapes", &shots(2, 1)).unwrap();
    assert_eq!(sizes(&d), (4, 8, 8, 8));
    assert!(d.classnames().contains(&"red plain circle".to_string()));
    let cfg = config(a.path(), "ToyShapes", &[]);
    let r = check(&cfg, true).unwrap();
    assert_eq!(r.images_decoded, 32);
    assert!(r.text().contains("# train_x  16"), "{}", r.text());

    // The second toy dataset through Custom and the spec the generator wrote.
    let spec_file = report.datasets[1]
        .custom_spec
        .to_string_lossy()
        .into_owned();
    let d = build(
        a.path(),
        "Custom",
        &[("DATASET.CUSTOM_SPEC", Value::Str(spec_file))],
    )
    .unwrap();
    assert_eq!(d.num_classes(), 3);
    assert_eq!(d.train_x.len() + d.val.len() + d.test.len(), 18);

    // A corrupt image fails the check with its path.
    let victim = d.test[0].impath.clone();
    std::fs::write(&victim, b"\xff\xd8\xff not really a jpeg").unwrap();
    let args = CheckArgs {
        root: a.path().to_path_buf(),
        dataset: Some("Custom".into()),
        custom_spec: Some(report.datasets[1].custom_spec.clone()),
        ..Default::default()
    };
    let e = check(&check_config(&args).unwrap(), true).unwrap_err();
    assert!(
        matches!(e, DataError::BadImage { .. })
            && e.to_string()
                .contains(&victim.to_string_lossy().to_string()),
        "{e}"
    );
    // Without decoding the build still passes.
    assert!(check(&check_config(&args).unwrap(), false).is_ok());
}

#[test]
fn custom_yaml_dataset_from_class_folders() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("plants");
    for (f, n) in [("rose_1", 6), ("tulip", 8), ("junk", 5)] {
        for i in 0..n {
            img(&data.join(format!("pics/{f}/{i}.png")));
        }
    }
    let spec = root.path().join("plants.yaml");
    write(&spec, "name: Plants\ndataset_dir: plants\nimage_dir: pics\nignored: [junk]\nclassnames:\n  rose_1: rose\n");
    let opts = [(
        "DATASET.CUSTOM_SPEC",
        Value::Str(spec.to_string_lossy().into_owned()),
    )];
    let d = build(root.path(), "Custom", &opts).unwrap();
    assert_eq!(d.classnames(), ["rose", "tulip"]);
    // 6 -> 3/1/2, 8 -> 4/2/2
    assert_eq!(sizes(&d), (2, 7, 3, 4));
    assert!(data.join("split_zhou_Plants.json").is_file());
    // A relative spec path resolves under DATASET.ROOT; the saved split is reused.
    let again = build(
        root.path(),
        "Custom",
        &[("DATASET.CUSTOM_SPEC", Value::Str("plants.yaml".into()))],
    )
    .unwrap();
    assert_eq!(again, d);
    // Typos in the spec are errors naming the file.
    write(&spec, "dataset_dir: plants\nimage_folder: pics\n");
    let e = build(root.path(), "Custom", &opts).unwrap_err().to_string();
    assert!(
        e.contains("plants.yaml") && e.contains("image_folder"),
        "{e}"
    );
}
