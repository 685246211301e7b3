//! The operand stack and variables: `drop`, `select`, locals and globals.

use cranelift_codegen::ir::InstBuilder;

use super::{FuncTranslator, Translated};
use crate::index::GlobalIndex;

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_drop(&mut self) -> Translated {
        self.pop();
        Ok(())
    }

    pub(super) fn visit_select(&mut self) -> Translated {
        let cond = self.pop();
        let (a, b) = self.pop2();
        let v = self.builder.ins().select(cond, a, b);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_local_get(&mut self, local_index: u32) -> Translated {
        let v = self.builder.use_var(self.locals[local_index as usize]);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_local_set(&mut self, local_index: u32) -> Translated {
        let v = self.pop();
        self.builder.def_var(self.locals[local_index as usize], v);
        Ok(())
    }

    pub(super) fn visit_local_tee(&mut self, local_index: u32) -> Translated {
        let v = *self.stack.last().expect("validated: local.tee operand");
        self.builder.def_var(self.locals[local_index as usize], v);
        Ok(())
    }

    pub(super) fn visit_global_get(&mut self, global_index: u32) -> Translated {
        let v = self.global_get(GlobalIndex(global_index));
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_global_set(&mut self, global_index: u32) -> Translated {
        let v = self.pop();
        self.global_set(GlobalIndex(global_index), v);
        Ok(())
    }
}
