# fixture rules
