//! Every parameter flag of `forecast` and `recommend train` is made from its model's
//! spec: the flag's help is the parameter's documentation and shows the spec's
//! default, so a default is written once (the tree flags: tests/tabular.rs).

use std::process::Command;

use lithe_core::params::{ParamInfo, ParamValue, Spec};

fn help(args: &[&str]) -> Vec<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_lithe"))
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    // One line per flag and its help (clap puts the help on the lines below the flag).
    let mut sections: Vec<String> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with('-') {
            sections.push(t.to_string());
        } else if let Some(last) = sections.last_mut() {
            last.push(' ');
            last.push_str(t);
        }
    }
    sections
}

fn check(args: &[&str], defaults: Vec<(&'static ParamInfo, ParamValue)>) {
    let sections = help(args);
    for (p, d) in defaults {
        let s = sections
            .iter()
            .find(|s| s.split_whitespace().next() == Some(p.flag().as_str()))
            .unwrap_or_else(|| panic!("no {} in {args:?} --help", p.flag()));
        let doc: String = p.doc().split_whitespace().collect::<Vec<_>>().join(" ");
        let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(s.contains(&doc), "{}: {s}", p.name);
        match d {
            ParamValue::None => assert!(!s.contains("[default:"), "{s}"),
            d => assert!(s.contains(&format!("[default: {d}]")), "{s}"),
        }
    }
}

#[test]
fn forecast_and_recommend_flags_come_from_the_specs() {
    check(
        &["forecast", "--help"],
        lithe_forecast::ModelParams::defaults(),
    );
    check(
        &["recommend", "train", "--help"],
        lithe_recsys::TrainParams::defaults(),
    );
}
