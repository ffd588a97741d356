print("raconteur")
