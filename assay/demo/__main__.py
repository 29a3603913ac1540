from assay.demo.pipeline import main

main()
