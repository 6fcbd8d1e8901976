from ragft.demo_data.handbook import main

main()
