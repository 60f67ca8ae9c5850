//! Tests of the training building blocks: model shapes and initialisation, SGD against
//! hand-computed steps, the learning-rate schedules, and the tch losses against nclab-core's
//! f64 reference losses. All on CPU.

use nclab_train::models::{Model, ModelKind, ModelSpec};
use nclab_train::optim::{learning_rate, Schedule, Sgd};
use tch::{nn, Device, Kind, Tensor};

fn numel(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

// ---- models -------------------------------------------------------------------------------

#[test]
fn mlp_shapes_for_several_widths() {
    tch::manual_seed(1);
    for (widths, input) in [
        (vec![32, 16], vec![1i64, 28, 28]),
        (vec![8], vec![784]),
        (vec![5, 7, 3], vec![20]),
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Model::new(&vs.root(), &ModelSpec::mlp(&widths), &input, 10);
        let d = *widths.last().unwrap();
        assert_eq!(model.feature_dim(), d);
        let mut dims = vec![6i64];
        dims.extend(&input);
        let xs = Tensor::randn(dims.as_slice(), (Kind::Float, Device::Cpu));
        for train in [true, false] {
            let (f, z) = model.forward_t(&xs, train);
            assert_eq!(f.size(), [6, d], "widths {widths:?}");
            assert_eq!(z.size(), [6, 10], "widths {widths:?}");
            // features are a ReLU output; logits = f W^T + b with the classifier's weights.
            assert!(f.min().double_value(&[]) >= 0.0);
            let (w, b) = model.classifier();
            assert_eq!(w.size(), [10, d]);
            assert_eq!(b.size(), [10]);
            let again = f.matmul(&w.tr()) + &b;
            assert!(again.allclose(&z, 1e-5, 1e-6, false));
        }
    }
}

#[test]
fn mlp_parameter_count_matches_pytorch() {
    // 784 -> 1024: 784*1024 + 1024 (linear) + 2*1024 (bn) = 805,888; 1024 -> 1024 twice:
    // 1,048,576 + 1024 + 2048 = 1,051,648 each; classifier 10,240 + 10 = 10,250.
    // 805,888 + 2 * 1,051,648 + 10,250 = 2,919,434 (also what PyTorch's Mlp in
    // scripts/bench_train.py counts).
    let vs = nn::VarStore::new(Device::Cpu);
    let _ = Model::new(&vs.root(), &ModelSpec::default(), &[784], 10);
    assert_eq!(numel(&vs), 2_919_434);
    // 4 tensors per block (linear w, b, bn w, b) + 2 for the classifier.
    assert_eq!(vs.trainable_variables().len(), 14);
}

#[test]
fn resnet18_shapes_for_several_widths() {
    tch::manual_seed(2);
    for (width, channels) in [(2i64, 3i64), (4, 1), (8, 3)] {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Model::new(
            &vs.root(),
            &ModelSpec::resnet18(width),
            &[channels, 32, 32],
            7,
        );
        assert_eq!(model.feature_dim(), 8 * width);
        let xs = Tensor::randn([3, channels, 32, 32], (Kind::Float, Device::Cpu));
        for train in [true, false] {
            let (f, z) = model.forward_t(&xs, train);
            assert_eq!(f.size(), [3, 8 * width]);
            assert_eq!(z.size(), [3, 7]);
        }
    }
}

#[test]
fn resnet18_matches_the_pytorch_cifar_resnet18() {
    // The CIFAR ResNet-18 with 1x1-conv shortcuts has 11,173,962 parameters in 62 tensors for
    // 10 classes (PyTorch: Resnet18(3, 64, 10) of scripts/bench_train.py); width 16: 701,466.
    for (width, count) in [(64, 11_173_962), (16, 701_466)] {
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = Model::new(&vs.root(), &ModelSpec::resnet18(width), &[3, 32, 32], 10);
        assert_eq!(numel(&vs), count, "width {width}");
        assert_eq!(vs.trainable_variables().len(), 62);
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let _ = Model::new(&vs.root(), &ModelSpec::resnet18(4), &[3, 32, 32], 10);
    let vars = vs.variables();
    // Shortcuts exist exactly where the shape changes (the first block of stages 2-4).
    assert!(vars.contains_key("layer2.0.shortcut.conv.weight"));
    assert!(vars.contains_key("layer4.0.shortcut.bn.running_var"));
    assert!(!vars.contains_key("layer1.0.shortcut.conv.weight"));
    assert!(!vars.contains_key("layer2.1.shortcut.conv.weight"));
    assert_eq!(vars["stem.conv.weight"].size(), [4, 3, 3, 3]);
    assert_eq!(vars["layer4.1.conv2.weight"].size(), [32, 32, 3, 3]);
    assert_eq!(vars["classifier.weight"].size(), [10, 32]);
}

#[test]
fn initialisation_follows_pytorch_defaults() {
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let _ = Model::new(&vs.root(), &ModelSpec::resnet18(16), &[3, 32, 32], 10);
    let mlp = nn::VarStore::new(Device::Cpu);
    let _ = Model::new(&mlp.root(), &ModelSpec::default(), &[784], 10);
    let (vars, mlp_vars) = (vs.variables(), mlp.variables());
    // kaiming-uniform with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), whose standard
    // deviation is bound / sqrt(3); Linear biases use the same bound. Each tensor below has
    // at least 1024 entries, so max |w| is within 1% of the bound and the sample std within
    // 10% of bound / sqrt(3) except with negligible probability.
    for (name, t, fan_in) in [
        (
            "layer3.0.conv1.weight",
            &vars["layer3.0.conv1.weight"],
            32 * 9,
        ),
        ("classifier.weight", &vars["classifier.weight"], 128),
        (
            "hidden.0.linear.bias",
            &mlp_vars["hidden.0.linear.bias"],
            784,
        ),
        (
            "hidden.1.linear.weight",
            &mlp_vars["hidden.1.linear.weight"],
            1024,
        ),
    ] {
        let bound = 1.0 / (fan_in as f64).sqrt();
        let max = t.abs().max().double_value(&[]);
        assert!(
            max <= bound && max > 0.99 * bound,
            "{name}: max |w| {max}, bound {bound}"
        );
        let std = t.std(true).double_value(&[]);
        let expected = bound / 3f64.sqrt();
        assert!(
            (std - expected).abs() < 0.1 * expected,
            "{name}: std {std}, expected {expected}"
        );
    }
    for name in [
        "stem.bn.weight",
        "layer2.0.shortcut.bn.weight",
        "layer1.1.bn2.running_var",
    ] {
        assert_eq!(vars[name].min().double_value(&[]), 1.0, "{name}");
        assert_eq!(vars[name].max().double_value(&[]), 1.0, "{name}");
    }
    for name in [
        "stem.bn.bias",
        "layer4.1.bn1.bias",
        "layer1.1.bn2.running_mean",
    ] {
        assert_eq!(vars[name].abs().max().double_value(&[]), 0.0, "{name}");
    }
}

#[test]
fn batch_norm_mode_switches_with_train() {
    // In training mode BN normalises with the batch statistics, so each hidden unit before
    // the ReLU has batch mean 0; in eval mode the running statistics (mean 0, var 1 at first,
    // moved 10% towards the batch by one training forward) are used instead, so the outputs
    // differ.
    tch::manual_seed(4);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Model::new(&vs.root(), &ModelSpec::mlp(&[16]), &[4], 3);
    let xs = Tensor::randn([32, 4], (Kind::Float, Device::Cpu)) * 3.0 + 1.0;
    let before = vs.variables()["hidden.0.bn.running_mean"].copy();
    let (f_train, _) = model.forward_t(&xs, true);
    let after = vs.variables()["hidden.0.bn.running_mean"].copy();
    assert!(before.abs().max().double_value(&[]) == 0.0);
    assert!(
        after.abs().max().double_value(&[]) > 0.0,
        "a training forward updates the running mean"
    );
    let (f_eval, _) = model.forward_t(&xs, false);
    let again = vs.variables()["hidden.0.bn.running_mean"].copy();
    assert!(
        again.equal(&after),
        "an eval forward leaves the running mean alone"
    );
    assert!(!f_train.allclose(&f_eval, 1e-3, 1e-3, false));
}

#[test]
fn bad_model_specs_are_errors_naming_the_value() {
    let vs = nn::VarStore::new(Device::Cpu);
    let err = Model::try_new(&vs.root(), &ModelSpec::mlp(&[]), &[4], 3).unwrap_err();
    assert!(format!("{err:#}").contains("model.widths"), "{err:#}");
    let err = Model::try_new(&vs.root(), &ModelSpec::mlp(&[8, 0]), &[4], 3).unwrap_err();
    assert!(format!("{err:#}").contains("[8, 0]"), "{err:#}");
    let err = Model::try_new(&vs.root(), &ModelSpec::resnet18(16), &[784], 10).unwrap_err();
    assert!(format!("{err:#}").contains("[C, H, W]"), "{err:#}");
    let err = Model::try_new(&vs.root(), &ModelSpec::resnet18(0), &[3, 32, 32], 10).unwrap_err();
    assert!(format!("{err:#}").contains("model.width"), "{err:#}");
    assert_eq!(
        "resnet18".parse::<ModelKind>().unwrap(),
        ModelKind::Resnet18
    );
    assert!("resnet50"
        .parse::<ModelKind>()
        .unwrap_err()
        .to_string()
        .contains("resnet50"));
}

// ---- SGD ----------------------------------------------------------------------------------

/// The 2-parameter model `f(x) = w x + b` with squared error `(f(2) - 1)^2`, from `w = 1`,
/// `b = 0.5`, in f64.
fn two_param_loss(w: &Tensor, b: &Tensor) -> Tensor {
    ((w * 2.0 + b - 1.0).square()).sum(Kind::Double)
}

fn two_params() -> (Tensor, Tensor) {
    let w = Tensor::from_slice(&[1.0f64]).set_requires_grad(true);
    let b = Tensor::from_slice(&[0.5f64]).set_requires_grad(true);
    (w, b)
}

fn value(t: &Tensor) -> f64 {
    t.double_value(&[0])
}

// Hand computation, lr 0.1, momentum 0.9, weight decay 0.1:
// step 1: f = 1*2 + 0.5 = 2.5, r = f - 1 = 1.5; dL/dw = 2 r x = 6, dL/db = 2 r = 3.
//   d_p = g + 0.1 p: w 6 + 0.1 = 6.1, b 3 + 0.05 = 3.05; buf = d_p (first step).
//   w = 1 - 0.1 * 6.1 = 0.39, b = 0.5 - 0.1 * 3.05 = 0.195.
// step 2: f = 0.39*2 + 0.195 = 0.975, r = -0.025; dL/dw = 2 r 2 = -0.1, dL/db = -0.05.
//   d_p: w -0.1 + 0.039 = -0.061, b -0.05 + 0.0195 = -0.0305.
//   buf = 0.9 buf + d_p: w 5.49 - 0.061 = 5.429, b 2.745 - 0.0305 = 2.7145.
//   w = 0.39 - 0.5429 = -0.1529, b = 0.195 - 0.27145 = -0.07645.
// (torch.optim.SGD gives the same: 0.39 0.195, then -0.1529 -0.07645.)
const STEP1: (f64, f64) = (0.39, 0.195);
const STEP2: (f64, f64) = (-0.1529, -0.07645);

fn assert_close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() < 1e-12, "{what}: got {got}, want {want}");
}

#[test]
fn sgd_steps_match_the_hand_computation() {
    let (w, b) = two_params();
    let mut opt = Sgd::new(vec![w.shallow_clone(), b.shallow_clone()], 0.9, 0.1);
    for (i, want) in [STEP1, STEP2].into_iter().enumerate() {
        opt.zero_grad();
        two_param_loss(&w, &b).backward();
        opt.step(0.1);
        assert_close(value(&w), want.0, &format!("w after step {}", i + 1));
        assert_close(value(&b), want.1, &format!("b after step {}", i + 1));
    }
    // step() leaves .grad as autograd wrote it: the step-2 gradient.
    assert_close(value(&w.grad()), -0.1, "w.grad");
}

#[test]
fn sgd_backward_step_matches_the_hand_computation() {
    let (w, b) = two_params();
    let mut opt = Sgd::new(vec![w.shallow_clone(), b.shallow_clone()], 0.9, 0.1);
    for want in [STEP1, STEP2] {
        opt.backward_step(&two_param_loss(&w, &b), 0.1);
        assert_close(value(&w), want.0, "w");
        assert_close(value(&b), want.1, "b");
    }
    assert!(!w.grad().defined(), "backward_step does not write .grad");
}

#[test]
fn sgd_without_momentum_or_decay_is_plain_gradient_descent() {
    // momentum 0, wd 0: p -= lr g. Step 1: w = 1 - 0.1*6 = 0.4, b = 0.5 - 0.1*3 = 0.2.
    // Step 2: r = 0.4*2 + 0.2 - 1 = 0, so nothing moves.
    let (w, b) = two_params();
    let mut opt = Sgd::new(vec![w.shallow_clone(), b.shallow_clone()], 0.0, 0.0);
    for _ in 0..2 {
        opt.zero_grad();
        two_param_loss(&w, &b).backward();
        opt.step(0.1);
        assert_close(value(&w), 0.4, "w");
        assert_close(value(&b), 0.2, "b");
    }
    assert!(opt.state().is_empty(), "no momentum, no buffers");
}

#[test]
fn sgd_state_round_trip_continues_the_momentum() {
    let (w, b) = two_params();
    let mut opt = Sgd::new(vec![w.shallow_clone(), b.shallow_clone()], 0.9, 0.1);
    opt.backward_step(&two_param_loss(&w, &b), 0.1);
    let state = opt.state();
    let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["optim.buf.0", "optim.buf.1"]);
    assert_close(value(&state[0].1), 6.1, "buf of w after step 1");
    assert_close(value(&state[1].1), 3.05, "buf of b after step 1");
    // A fresh optimiser with the saved buffers makes the hand-computed step 2.
    let mut resumed = Sgd::new(vec![w.shallow_clone(), b.shallow_clone()], 0.9, 0.1);
    resumed.load_state(&state).unwrap();
    resumed.backward_step(&two_param_loss(&w, &b), 0.1);
    assert_close(value(&w), STEP2.0, "w");
    assert_close(value(&b), STEP2.1, "b");

    let mut bad =
        |entries: Vec<(String, Tensor)>| resumed.load_state(&entries).unwrap_err().to_string();
    let one = || Tensor::from_slice(&[0.0f64]);
    assert!(bad(vec![("optim.buf.2".into(), one())]).contains("optim.buf.2"));
    assert!(bad(vec![("optim.mom.0".into(), one())]).contains("optim.mom.0"));
    assert!(bad(vec![(
        "optim.buf.0".into(),
        Tensor::zeros([2], (Kind::Double, Device::Cpu))
    )])
    .contains("shape"));
    assert!(bad(vec![
        ("optim.buf.1".into(), one()),
        ("optim.buf.1".into(), one())
    ])
    .contains("twice"));
}

// ---- learning-rate schedules --------------------------------------------------------------

#[test]
fn step_schedule_decays_at_floor_e_over_3_and_2e_over_3() {
    let lr = |epoch, epochs| learning_rate(Schedule::Step, 0.0679, epoch, epochs);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
    // E = 350: milestones floor(350/3) = 116 and floor(700/3) = 233.
    assert!(close(lr(0, 350), 0.0679));
    assert!(close(lr(115, 350), 0.0679));
    assert!(close(lr(116, 350), 0.00679));
    assert!(close(lr(232, 350), 0.00679));
    assert!(close(lr(233, 350), 0.000679));
    assert!(close(lr(349, 350), 0.000679));
    // E = 10: milestones 3 and 6.
    assert!(close(lr(2, 10), 0.0679));
    assert!(close(lr(3, 10), 0.00679));
    assert!(close(lr(5, 10), 0.00679));
    assert!(close(lr(6, 10), 0.000679));
}

#[test]
fn cosine_and_constant_schedules() {
    let cos = |epoch| learning_rate(Schedule::Cosine, 0.1, epoch, 100);
    assert!((cos(0) - 0.1).abs() < 1e-15);
    assert!((cos(50) - 0.05).abs() < 1e-15); // (1 + cos(pi/2)) / 2 = 1/2
    assert!((cos(25) - 0.1 * (1.0 + 0.5f64.sqrt()) / 2.0).abs() < 1e-15);
    assert!(cos(100).abs() < 1e-15);
    assert_eq!(learning_rate(Schedule::Constant, 0.1, 99, 100), 0.1);
    assert_eq!("cosine".parse::<Schedule>().unwrap(), Schedule::Cosine);
    assert!("linear"
        .parse::<Schedule>()
        .unwrap_err()
        .to_string()
        .contains("linear"));
}

// ---- losses: hand-computed values on a 3-class tree ------------------------------------------

use nclab_train::losses::{Loss, LossTree};

/// root -> { A -> {c0, c1}, c2 }. Nodes: 0 root (depth 0), 1 A (1), 2 c0 (2), 3 c1 (2),
/// 4 c2 (1). LCA heights: d(c0, c1) = height(A) = 1, d(c0, c2) = d(c1, c2) = height(root) = 2,
/// so dn = d / 2.
fn three_class_tree() -> LossTree {
    LossTree {
        num_classes: 3,
        dn: vec![0.0, 0.5, 1.0, 0.5, 0.0, 1.0, 1.0, 1.0, 0.0],
        node_depths: vec![0, 1, 2, 2, 1],
        node_leaves: vec![vec![0, 1, 2], vec![0, 1], vec![0], vec![1], vec![2]],
        class_paths: vec![vec![2, 1], vec![3, 1], vec![4]],
    }
}

/// The loss of one sample with softmax `p` (logits `ln p + 7`, the shift changes nothing).
fn loss_of(spec: &str, tree: &LossTree, p: &[f64], t: i64) -> f64 {
    let loss = Loss::from_tree(&spec.parse().unwrap(), tree, Device::Cpu).unwrap();
    let z: Vec<f64> = p.iter().map(|v| v.ln() + 7.0).collect();
    let logits = Tensor::from_slice(&z).view([1, -1]);
    loss.forward(&logits, &Tensor::from_slice(&[t]))
        .double_value(&[])
}

#[test]
fn losses_match_hand_computations_on_a_small_tree() {
    let tree = three_class_tree();
    let p = [0.2, 0.3, 0.5];
    let close = |got: f64, want: f64, what: &str| {
        assert!((got - want).abs() < 1e-12, "{what}: got {got}, want {want}")
    };
    // CE: -ln 0.2.
    close(loss_of("ce", &tree, &p, 0), -(0.2f64.ln()), "ce");
    // HXE, alpha = ln 2, so lambda(depth) = 2^-depth: lambda(c0) = 1/4, lambda(A) = 1/2.
    // t = c0: -1/4 ln(p0 / pA) - 1/2 ln(pA / 1) = 1/4 ln 2.5 + 1/2 ln 2 = 0.5756462732485115.
    // t = c2 (depth 1, parent root): -1/2 ln 0.5 = 0.34657359027997264.
    let a = format!("hxe:{}", 2f64.ln());
    close(loss_of(&a, &tree, &p, 0), 0.5756462732485115, "hxe t=c0");
    close(loss_of(&a, &tree, &p, 2), 0.34657359027997264, "hxe t=c2");
    // normalize = nodes divides by sum_n 2^-depth(n) = 1 + 1/2 + 1/4 + 1/4 + 1/2 = 2.5.
    close(
        loss_of(&format!("{a}:nodes"), &tree, &p, 0),
        0.5756462732485115 / 2.5,
        "hxe nodes",
    );
    // HXE with alpha = 0: lambda = 1, the path telescopes to -ln p_t = CE.
    close(loss_of("hxe:0", &tree, &p, 1), -(0.3f64.ln()), "hxe:0");
    // Soft labels, beta = ln 4: exp(-beta dn(a, t)) = 4^-dn.
    // t = c0: dn = (0, 1/2, 1) -> (1, 1/2, 1/4) / (7/4) = (4/7, 2/7, 1/7);
    //   loss = -(4/7 ln .2 + 2/7 ln .3 + 1/7 ln .5) = 1.3626920627068881.
    // t = c2: dn = (1, 1, 0) -> (1/4, 1/4, 1) / 1.5; loss = 0.9309999064999694.
    let s = format!("soft:{}", 4f64.ln());
    close(loss_of(&s, &tree, &p, 0), 1.3626920627068881, "soft t=c0");
    close(loss_of(&s, &tree, &p, 2), 0.9309999064999694, "soft t=c2");
    // MSE kappa = 2 on logits (1, 0, -1), t = c0: ((1-2)^2 + 0 + 1) / 3 = 2/3.
    let mse = Loss::from_tree(&"mse:2".parse().unwrap(), &tree, Device::Cpu).unwrap();
    let z = Tensor::from_slice(&[1.0f64, 0.0, -1.0]).view([1, 3]);
    close(
        mse.forward(&z, &Tensor::from_slice(&[0i64]))
            .double_value(&[]),
        2.0 / 3.0,
        "mse",
    );
}

#[test]
fn losses_are_batch_means() {
    // Two samples: the batch loss is the mean of the per-sample losses.
    let tree = three_class_tree();
    for spec in ["ce", "mse", "soft:2", "hxe:0.5", "hxe:0.5:nodes"] {
        let loss = Loss::from_tree(&spec.parse().unwrap(), &tree, Device::Cpu).unwrap();
        let z = Tensor::from_slice(&[0.3f64, -1.0, 2.0, 1.5, 0.2, -0.7]).view([2, 3]);
        let t = Tensor::from_slice(&[1i64, 0]);
        let batch = loss.forward(&z, &t).double_value(&[]);
        let one = |i: i64| {
            loss.forward(&z.narrow(0, i, 1), &t.narrow(0, i, 1))
                .double_value(&[])
        };
        let mean = (one(0) + one(1)) / 2.0;
        assert!((batch - mean).abs() < 1e-12, "{spec}: {batch} vs {mean}");
    }
}

#[test]
fn hxe_never_takes_the_log_of_zero() {
    // Logits so extreme that p underflows to 0 in f32 for the true class: the loss and its
    // gradient stay finite because log p(node) is a log-sum-exp of log-softmax values.
    let tree = three_class_tree();
    let loss = Loss::from_tree(&"hxe:0.5".parse().unwrap(), &tree, Device::Cpu).unwrap();
    let z = Tensor::from_slice(&[-200.0f32, -200.0, 200.0])
        .view([1, 3])
        .set_requires_grad(true);
    let l = loss.forward(&z, &Tensor::from_slice(&[0i64]));
    l.backward();
    let v = l.double_value(&[]);
    assert!(v.is_finite() && v > 100.0, "loss {v}");
    assert!(i64::try_from(z.grad().isfinite().all()).unwrap() == 1);
}

// ---- losses against nclab-core's f64 references ---------------------------------------------

use nclab_core::hierarchy::Hierarchy;
use nclab_core::losses as reference;
use nclab_core::tensor::MatrixView;

const SPECS: [&str; 9] = [
    "ce",
    "mse",
    "mse:2.5",
    "soft:1",
    "soft:8",
    "hxe:0",
    "hxe:0.5",
    "hxe:0:nodes",
    "hxe:0.5:nodes",
];

/// Random logits `N x K` (normal, scale 3) and targets covering every class, from a seed.
fn random_batch(n: usize, k: usize, seed: i64) -> (Vec<f32>, Vec<i64>) {
    tch::manual_seed(seed);
    let z = Tensor::randn([n as i64, k as i64], (Kind::Float, Device::Cpu)) * 3.0;
    let z = Vec::<f32>::try_from(z.view([-1])).unwrap();
    let t = (0..n)
        .map(|i| ((i * 7 + seed as usize) % k) as i64)
        .collect();
    (z, t)
}

/// Our loss and `N x` its gradient (the per-sample gradients) on `z` of kind `kind`.
fn ours(spec: &str, h: &Hierarchy, z: &[f32], t: &[i64], kind: Kind) -> (f64, Vec<f64>) {
    let (n, k) = (t.len() as i64, h.num_classes() as i64);
    let loss = Loss::new(&spec.parse().unwrap(), h, Device::Cpu).unwrap();
    let logits = Tensor::from_slice(z)
        .view([n, k])
        .to_kind(kind)
        .set_requires_grad(true);
    let l = loss.forward(&logits, &Tensor::from_slice(t));
    assert_eq!(l.kind(), kind);
    l.backward();
    let grad = logits.grad().to_kind(Kind::Double).view([-1]) * (n as f64);
    (l.double_value(&[]), Vec::<f64>::try_from(grad).unwrap())
}

/// nclab-core's f64 loss and `N x` its gradient, on the same (f32) logits.
fn theirs(spec: &str, h: &Hierarchy, z: &[f32], t: &[i64]) -> (f64, Vec<f64>) {
    let (n, k) = (t.len(), h.num_classes());
    let loss = reference::Loss::new(spec.parse().unwrap(), h);
    let labels: Vec<usize> = t.iter().map(|&v| v as usize).collect();
    let mut grad = vec![0.0; n * k];
    let value = loss
        .batch_mean(MatrixView::f32(z, n, k), &labels, Some(&mut grad))
        .unwrap();
    (value, grad.iter().map(|g| g * n as f64).collect())
}

fn assert_agree(what: &str, a: (f64, Vec<f64>), b: (f64, Vec<f64>), tol: f64) {
    assert!(
        (a.0 - b.0).abs() <= tol,
        "{what}: loss {} vs reference {}",
        a.0,
        b.0
    );
    let worst =
        a.1.iter()
            .zip(&b.1)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
    assert!(worst <= tol, "{what}: gradient differs by up to {worst}");
}

#[test]
fn losses_agree_with_the_f64_references() {
    // Values and gradients (per sample: N x the gradient of the batch mean) to 1e-5 with f32
    // logits, as training uses them, and to 1e-10 with f64 logits (same formulas, no f32
    // rounding), on cifar10's tree, a flat tree and fashion-mnist's (leaves at depths 2 and 3).
    for name in ["cifar10", "flat:10", "fashion-mnist"] {
        let h = Hierarchy::load(name).unwrap();
        let (z, t) = random_batch(64, h.num_classes(), 11);
        for spec in SPECS {
            let reference = theirs(spec, &h, &z, &t);
            assert_agree(
                &format!("{spec} on {name}, f32"),
                ours(spec, &h, &z, &t, Kind::Float),
                reference.clone(),
                1e-5,
            );
            assert_agree(
                &format!("{spec} on {name}, f64"),
                ours(spec, &h, &z, &t, Kind::Double),
                reference,
                1e-10,
            );
        }
    }
}

#[test]
#[ignore = "needs tiered_imagenet_isa.txt beside the checkout (../shared/data/hierarchies)"]
fn losses_agree_with_the_references_on_a_deep_real_hierarchy() {
    // tiered-ImageNet's 608-leaf tree (the "Making Better Mistakes" hierarchy) when present:
    // long paths of different lengths exercise the HXE padding.
    // The shared data sits beside the checkout (../shared) or beside the worktree folder.
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = ["../../../shared", "../../../../shared"]
        .iter()
        .map(|up| {
            manifest
                .join(up)
                .join("data/hierarchies/tiered_imagenet_isa.txt")
        })
        .find(|p| p.is_file());
    let path = found.expect("tiered_imagenet_isa.txt not found beside the checkout");
    let h = Hierarchy::load(path.to_str().unwrap()).unwrap();
    assert_eq!(h.num_classes(), 608);
    let (z, t) = random_batch(16, 608, 5);
    for spec in ["soft:4", "hxe:0.3", "hxe:0.3:nodes"] {
        let reference = theirs(spec, &h, &z, &t);
        assert_agree(
            &format!("{spec}, f32"),
            ours(spec, &h, &z, &t, Kind::Float),
            reference.clone(),
            1e-5,
        );
        assert_agree(
            &format!("{spec}, f64"),
            ours(spec, &h, &z, &t, Kind::Double),
            reference,
            1e-10,
        );
    }
}

#[test]
fn hxe_with_alpha_zero_equals_ce() {
    // lambda = 1 on every edge, so the path telescopes to -log p_t: HXE(0) is CE, value and
    // gradient, on any tree.
    for name in ["cifar10", "flat:10", "fashion-mnist"] {
        let h = Hierarchy::load(name).unwrap();
        let (z, t) = random_batch(32, h.num_classes(), 3);
        for kind in [Kind::Float, Kind::Double] {
            let tol = if kind == Kind::Float { 1e-6 } else { 1e-12 };
            assert_agree(
                &format!("hxe:0 vs ce on {name}"),
                ours("hxe:0", &h, &z, &t, kind),
                ours("ce", &h, &z, &t, kind),
                tol,
            );
        }
    }
}

// ---- allocator tuning -------------------------------------------------------------------------

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn glibc_accepts_the_malloc_settings() {
    // mallopt returns 0 for a value out of range (e.g. an mmap threshold above 32 MiB), so
    // this fails if a setting is silently refused.
    assert!(nclab_train::malloc::tune_malloc_for_training());
    // Allocation still works afterwards, small and large.
    let t = Tensor::ones([64, 1 << 20], (Kind::Float, Device::Cpu));
    assert_eq!(t.sum(Kind::Double).double_value(&[]), (64 << 20) as f64);
}

// ---- speed switches: flat SGD, channels-last, bf16 ----------------------------------------

#[test]
fn sgd_skips_parameters_without_a_gradient() {
    // A third parameter that takes no part in the loss: no gradient, so no step, no buffer;
    // the other two follow the hand computation (parameter by parameter, not flat).
    let (w, b) = two_params();
    let unused = Tensor::from_slice(&[7.0f64]).set_requires_grad(true);
    let mut opt = Sgd::new(
        vec![w.shallow_clone(), unused.shallow_clone(), b.shallow_clone()],
        0.9,
        0.1,
    );
    for want in [STEP1, STEP2] {
        opt.zero_grad();
        two_param_loss(&w, &b).backward();
        opt.step(0.1);
        assert_close(value(&w), want.0, "w");
        assert_close(value(&b), want.1, "b");
        assert_close(value(&unused), 7.0, "unused");
    }
    let names: Vec<String> = opt.state().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["optim.buf.0", "optim.buf.2"]);
}

/// Two copies of one small ResNet18 (width 4) from the same seed.
fn twin_resnets() -> (nn::VarStore, Model, nn::VarStore, Model) {
    let make = || {
        tch::manual_seed(11);
        let vs = nn::VarStore::new(Device::Cpu);
        let m = Model::new(&vs.root(), &ModelSpec::resnet18(4), &[3, 16, 16], 5);
        (vs, m)
    };
    let (va, a) = make();
    let (vb, b) = make();
    (va, a, vb, b)
}

fn max_rel_diff(a: &Tensor, b: &Tensor) -> f64 {
    let scale = a.abs().max().double_value(&[]).max(1e-12);
    (a - b).abs().max().double_value(&[]) / scale
}

#[test]
fn channels_last_gives_the_same_outputs_and_steps() {
    use nclab_train::dataset::to_channels_last;
    use nclab_train::models::convert_to_channels_last;
    let (va, a, vb, b) = twin_resnets();
    convert_to_channels_last(&vb);
    let conv = vb.variables()["stem.conv.weight"].shallow_clone();
    assert_eq!(conv.stride()[1], 1, "weights in NHWC order");
    let mut oa = Sgd::new(va.trainable_variables(), 0.9, 5e-4);
    let mut ob = Sgd::new(vb.trainable_variables(), 0.9, 5e-4);
    // The flat optimiser keeps each parameter's layout.
    assert_eq!(vb.variables()["stem.conv.weight"].stride()[1], 1);
    tch::manual_seed(3);
    let x = Tensor::randn([6, 3, 16, 16], (Kind::Float, Device::Cpu));
    let y = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 0]);
    let (fa, za) = a.forward_t(&x, false);
    let (fb, zb) = b.forward_t(&to_channels_last(&x), false);
    assert!(max_rel_diff(&fa, &fb) < 1e-5 && max_rel_diff(&za, &zb) < 1e-5);
    // Two steps: a net this small (batch 6, BatchNorm over 2 x 2 maps) is chaotic enough
    // that later steps amplify the last-bit differences of the two layouts' sums.
    for _ in 0..2 {
        let la = a
            .forward_train(&x, Kind::Float)
            .cross_entropy_for_logits(&y);
        oa.backward_step(&la, 0.05);
        let lb = b
            .forward_train(&to_channels_last(&x), Kind::Float)
            .cross_entropy_for_logits(&y);
        ob.backward_step(&lb, 0.05);
    }
    let (pa, pb) = (va.variables(), vb.variables());
    for (name, t) in &pa {
        let d = max_rel_diff(t, &pb[name]);
        assert!(d < 1e-5, "{name}: relative difference {d}");
    }
    assert_eq!(pb["layer2.0.conv1.weight"].stride()[1], 1);
}

#[test]
fn bf16_forward_is_close_to_f32_and_trains_the_f32_weights() {
    let (va, a, _, _) = twin_resnets();
    let mut opt = Sgd::new(va.trainable_variables(), 0.9, 5e-4);
    tch::manual_seed(4);
    let x = Tensor::randn([8, 3, 16, 16], (Kind::Float, Device::Cpu));
    let z32 = a.forward_train(&x, Kind::Float);
    let z16 = a.forward_train(&x, Kind::BFloat16);
    assert_eq!(z16.kind(), Kind::Float, "logits reach the loss in f32");
    // bf16 keeps 8 bits of mantissa: about 2-3 significant digits through 18 layers.
    let d = max_rel_diff(&z32, &z16);
    assert!(d > 0.0 && d < 0.1, "relative difference {d}");
    let y = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 0, 1, 2]);
    let before = va.variables()["classifier.weight"].copy();
    opt.backward_step(&z16.cross_entropy_for_logits(&y), 0.05);
    let after = &va.variables()["classifier.weight"];
    assert_eq!(after.kind(), Kind::Float, "master weights stay f32");
    assert!(
        max_rel_diff(&before, after) > 0.0,
        "the step moved the weights"
    );
}
