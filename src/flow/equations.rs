//! diffsol `OdeEquations` adapter for any [`VectorField`]: right-hand side, analytic Jacobian
//! matrix (assembled by the field, not by n Jacobian-vector products) and the initial state.
//! Counts calls for [`super::FlowStats`]. Optionally carries switching surfaces as diffsol
//! root functions (event location for [`crate::models::SwitchedField`]s).

use crate::models::VectorField;
use diffsol::op::OpStatistics;
use diffsol::{
    ConstantOp, Matrix, NalgebraContext, NalgebraMat, NalgebraVec, NonLinearOp, NonLinearOpJacobian, OdeEquations,
    OdeEquationsRef, Op, ParameterisedOp, UnitCallable, Vector, VectorCommon,
};
use std::cell::RefCell;

type M = NalgebraMat<f64>;
type V = NalgebraVec<f64>;

/// The equations ẏ = F(y), y(0) = y0.
pub(super) struct FieldEquations<'f, F: ?Sized> {
    field: &'f F,
    y0: Vec<f64>,
    ctx: NalgebraContext,
    stats: RefCell<OpStatistics>,
    surfaces: Option<Surfaces<'f>>,
}

/// Root functions: count and evaluator.
type SurfaceFn<'f> = &'f dyn Fn(&[f64], &mut [f64]);
struct Surfaces<'f> {
    n: usize,
    eval: SurfaceFn<'f>,
}

impl<'f, F: VectorField + ?Sized> FieldEquations<'f, F> {
    pub(super) fn new(field: &'f F, y0: &[f64]) -> Self {
        FieldEquations {
            field,
            y0: y0.to_vec(),
            ctx: NalgebraContext::default(),
            stats: RefCell::new(OpStatistics::default()),
            surfaces: None,
        }
    }
    /// With `n` root functions evaluated by `eval` (a sign change of entry j between two step
    /// ends is located by diffsol's Illinois secant search on the step's interpolant).
    pub(super) fn with_surfaces(mut self, n: usize, eval: SurfaceFn<'f>) -> Self {
        self.surfaces = Some(Surfaces { n, eval });
        self
    }
    pub(super) fn rhs_statistics(&self) -> OpStatistics {
        self.stats.borrow().clone()
    }
}

pub(super) struct Rhs<'a, 'f, F: ?Sized> {
    eqn: &'a FieldEquations<'f, F>,
}
pub(super) struct Init<'a, 'f, F: ?Sized> {
    eqn: &'a FieldEquations<'f, F>,
}
pub(super) struct Root<'a, 'f, F: ?Sized> {
    eqn: &'a FieldEquations<'f, F>,
}

macro_rules! impl_op {
    ($ty:ident) => {
        impl<F: VectorField + ?Sized> Op for $ty<'_, '_, F> {
            type M = M;
            type V = V;
            type T = f64;
            type C = NalgebraContext;
            fn nstates(&self) -> usize {
                self.eqn.field.dim()
            }
            fn nout(&self) -> usize {
                self.eqn.field.dim()
            }
            fn nparams(&self) -> usize {
                0
            }
            fn context(&self) -> &Self::C {
                &self.eqn.ctx
            }
            fn statistics(&self) -> OpStatistics {
                self.eqn.stats.borrow().clone()
            }
        }
    };
}
impl_op!(Rhs);
impl_op!(Init);

impl<F: VectorField + ?Sized> Op for Root<'_, '_, F> {
    type M = M;
    type V = V;
    type T = f64;
    type C = NalgebraContext;
    fn nstates(&self) -> usize {
        self.eqn.field.dim()
    }
    fn nout(&self) -> usize {
        self.eqn.surfaces.as_ref().map_or(0, |s| s.n)
    }
    fn nparams(&self) -> usize {
        0
    }
    fn context(&self) -> &Self::C {
        &self.eqn.ctx
    }
}

impl<F: VectorField + ?Sized> NonLinearOp for Root<'_, '_, F> {
    fn call_inplace(&self, x: &V, _t: f64, y: &mut V) {
        if let Some(s) = &self.eqn.surfaces {
            (s.eval)(x.inner().as_slice(), y.inner_mut().as_mut_slice());
        }
    }
}

impl<F: VectorField + ?Sized> NonLinearOp for Rhs<'_, '_, F> {
    fn call_inplace(&self, x: &V, _t: f64, y: &mut V) {
        self.eqn.stats.borrow_mut().increment_call();
        self.eqn
            .field
            .eval_inplace(x.inner().as_slice(), y.inner_mut().as_mut_slice());
    }
}

impl<F: VectorField + ?Sized> NonLinearOpJacobian for Rhs<'_, '_, F> {
    fn jac_mul_inplace(&self, x: &V, _t: f64, v: &V, y: &mut V) {
        self.eqn.stats.borrow_mut().increment_jac_mul();
        self.eqn
            .field
            .jvp_inplace(x.inner().as_slice(), v.inner().as_slice(), y.inner_mut().as_mut_slice());
    }
    fn jacobian_inplace(&self, x: &V, _t: f64, y: &mut M) {
        self.eqn.stats.borrow_mut().increment_matrix();
        // nalgebra matrices are column-major, as `VectorField::jacobian_inplace` writes.
        self.eqn
            .field
            .jacobian_inplace(x.inner().as_slice(), y.inner_mut().as_mut_slice());
    }
}

impl<F: VectorField + ?Sized> ConstantOp for Init<'_, '_, F> {
    fn call_inplace(&self, _t: f64, y: &mut V) {
        y.inner_mut().as_mut_slice().copy_from_slice(&self.eqn.y0);
    }
}

impl<F: VectorField + ?Sized> Op for FieldEquations<'_, F> {
    type M = M;
    type V = V;
    type T = f64;
    type C = NalgebraContext;
    fn nstates(&self) -> usize {
        self.field.dim()
    }
    fn nout(&self) -> usize {
        self.field.dim()
    }
    fn nparams(&self) -> usize {
        0
    }
    fn context(&self) -> &Self::C {
        &self.ctx
    }
}

impl<'a, 'f, F: VectorField + ?Sized> OdeEquationsRef<'a> for FieldEquations<'f, F> {
    type Rhs = Rhs<'a, 'f, F>;
    type Mass = ParameterisedOp<'a, UnitCallable<M>>;
    type Init = Init<'a, 'f, F>;
    type Out = ParameterisedOp<'a, UnitCallable<M>>;
    type Root = Root<'a, 'f, F>;
    type Reset = ParameterisedOp<'a, UnitCallable<M>>;
}

impl<'f, F: VectorField + ?Sized> OdeEquations for FieldEquations<'f, F> {
    fn rhs(&self) -> Rhs<'_, 'f, F> {
        Rhs { eqn: self }
    }
    fn mass(&self) -> Option<ParameterisedOp<'_, UnitCallable<M>>> {
        None
    }
    fn init(&self) -> Init<'_, 'f, F> {
        Init { eqn: self }
    }
    fn root(&self) -> Option<Root<'_, 'f, F>> {
        self.surfaces.as_ref().map(|_| Root { eqn: self })
    }
    fn set_params(&mut self, _p: &V) {}
    fn get_params(&self, _p: &mut V) {}
}
