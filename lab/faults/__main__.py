from lab.faults.suite import main

raise SystemExit(main())
