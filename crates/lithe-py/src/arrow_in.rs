//! Tables from any Python object with `__arrow_c_stream__` (pyarrow, polars, pandas ≥
//! 2.2, DuckDB): the Arrow C stream interface, so no Python library is needed here.

use arrow_array::RecordBatchReader;
use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use lithe_core::{Error, Table};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

pub fn table(obj: &Bound<'_, PyAny>) -> PyResult<Table> {
    let capsule = obj.call_method0("__arrow_c_stream__")?;
    let capsule = capsule
        .cast::<PyCapsule>()
        .map_err(|_| PyTypeError::new_err("__arrow_c_stream__ did not return a PyCapsule"))?;
    let ptr = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
    // SAFETY: the capsule holds an `ArrowArrayStream` (its name says so, checked
    // above). `from_raw` moves the stream out and leaves a released one behind, so the
    // capsule's destructor does not release it a second time.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr.as_ptr().cast()) };
    let reader = RecordBatchStreamReader::try_new(stream)
        .map_err(|e| crate::py_err(Error::input(format!("an Arrow stream: {e}")), None))?;
    let schema = reader.schema();
    let batches = reader.map(|b| b.map_err(|e| Error::input(format!("an Arrow stream: {e}"))));
    let opts = lithe_core::ReadOptions::default();
    lithe_core::io::from_batches(&schema, batches, "the table", &opts)
        .map_err(|e| crate::py_err(e, None))
}
