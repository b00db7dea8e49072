rtl/sprint_m_controller.v
rtl/sprint_m_exp2.v
rtl/sprint_m_recip.v
rtl/sprint_m_engine.v
rtl/sprint_m_buffer.v
rtl/sprint_m_core.v
rtl/sprint_m_top.v
