"""Working-day calendar (工作日历): PRC working days, holidays and make-up days."""
