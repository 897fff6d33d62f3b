from services.nlu.main import main

main()
